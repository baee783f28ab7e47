"""Words of generated screens: button labels (in families of look-alikes, the distractors),
settings, apps, people, products, files and table data. Plain data; the generators draw from it."""

from __future__ import annotations

#: Button labels in families of look-alikes: a target drawn from a family may share the screen
#: with its siblings (the distractors of harder levels).
BUTTON_FAMILIES: tuple[tuple[str, ...], ...] = (
    ("Save", "Save as", "Save draft", "Save all", "Autosave"),
    ("Delete", "Delete all", "Delete account", "Deleted items"),
    ("Share", "Share link", "Shared with me", "Share screen"),
    ("Send", "Send later", "Resend", "Send feedback"),
    ("Export", "Export as PDF", "Export CSV", "Import"),
    ("Sign in", "Sign up", "Sign out", "Sign in with email"),
    ("Cancel", "Cancel order", "Cancel all", "Cancel upload"),
    ("Edit", "Edit profile", "Edit photo", "Edit details"),
    ("Add", "Add new", "Add to list", "Add account"),
    ("Apply", "Apply all", "Apply filters", "Reapply"),
    ("Next", "Next page", "Next step", "Skip"),
    ("Open", "Open file", "Open recent", "Open folder"),
    ("Copy", "Copy link", "Copy path", "Duplicate"),
    ("Download", "Download all", "Downloads", "Upload"),
    ("Reset", "Reset password", "Reset all", "Restore"),
    ("Submit", "Submit form", "Resubmit", "Subscribe"),
    ("Print", "Print preview", "Page setup", "Print all"),
    ("Close", "Close all", "Close tab", "Clear"),
    ("Confirm", "Confirm email", "Continue", "Complete"),
    ("Archive", "Archived", "Unarchive", "Archive all"),
    ("Refresh", "Reload", "Refresh all", "Retry"),
    ("Help", "Help center", "Hide", "Hints"),
    ("Rename", "Remove", "Rename all", "Report"),
    ("Settings", "Sound settings", "Display settings", "Account settings"),
)

#: Icon buttons: (accessible name, icon).
ICON_BUTTONS: tuple[tuple[str, str], ...] = (
    ("Search", "search"), ("More options", "more"), ("Settings", "gear"), ("Delete", "trash"),
    ("Edit", "pencil"), ("Favourite", "star"), ("Like", "heart"), ("Share", "share"),
    ("Notifications", "bell"), ("Home", "home"), ("Profile", "user"), ("Mail", "mail"), ("Call", "phone"),
    ("Camera", "camera"), ("Gallery", "image"), ("Lock", "lock"), ("Download", "download"),
    ("Upload", "upload"), ("Calendar", "calendar"), ("History", "clock"), ("Location", "pin"),
    ("Cart", "cart"), ("Files", "folder"), ("Bookmark", "bookmark"), ("Filter", "filter"),
    ("Refresh", "refresh"), ("Info", "info"), ("Grid view", "grid"), ("List view", "list"),
    ("Chat", "chat"), ("Copy", "copy"), ("Print", "print"), ("Archive", "archive"), ("Send", "send"),
    ("Add", "plus"), ("Close", "close"), ("Menu", "menu"), ("Play", "play"), ("Tag", "tag"), ("Link", "link"),
)

#: Settings: (key, label, detail, category, icon).
SETTINGS: tuple[tuple[str, str, str, str, str], ...] = (
    ("wifi", "Wi-Fi", "Connect to wireless networks", "Network & internet", "wifi"),
    ("wifi_calling", "Wi-Fi calling", "Make calls over Wi-Fi", "Network & internet", "phone"),
    ("mobile_data", "Mobile data", "Use data over the mobile network", "Network & internet", "signal"),
    ("airplane", "Airplane mode", "Turn off all radios", "Network & internet", "send"),
    ("hotspot", "Hotspot", "Share your connection", "Network & internet", "wifi"),
    ("data_saver", "Data saver", "Limit background data", "Network & internet", "download"),
    ("bluetooth", "Bluetooth", "Connect to nearby devices", "Connected devices", "bluetooth"),
    ("nfc", "NFC", "Tap to pay and share", "Connected devices", "devices"),
    ("nearby_share", "Nearby Share", "Share files with devices around you", "Connected devices", "share"),
    ("cast", "Screen casting", "Show your screen on a TV", "Connected devices", "devices"),
    ("dark_theme", "Dark theme", "Use a dark background", "Display", "moon"),
    ("auto_rotate", "Auto-rotate screen", "Turn the screen with the phone", "Display", "refresh"),
    ("adaptive_brightness", "Adaptive brightness", "Adjust brightness to the light", "Display", "sun"),
    ("night_light", "Night light", "Tint the screen amber at night", "Display", "moon"),
    ("always_on", "Always-on display", "Show the time when idle", "Display", "clock"),
    ("vibrate_calls", "Vibrate for calls", "Vibrate when the phone rings", "Sound & vibration", "phone"),
    ("touch_sounds", "Touch sounds", "Play a sound on touch", "Sound & vibration", "volume"),
    ("keyboard_sounds", "Keyboard sounds", "Play a sound when typing", "Sound & vibration", "volume"),
    ("dnd", "Do not disturb", "Silence notifications", "Sound & vibration", "bell"),
    ("notif_lock", "Notifications on lock screen", "Show notifications when locked", "Notifications", "lock"),
    ("notif_dots", "Notification dots", "Show dots on app icons", "Notifications", "bell"),
    ("notif_history", "Notification history", "Keep recent notifications", "Notifications", "clock"),
    ("battery_saver", "Battery saver", "Extend battery life", "Battery", "battery"),
    ("battery_percent", "Battery percentage", "Show the percentage in the status bar", "Battery", "battery"),
    ("adaptive_battery", "Adaptive battery", "Limit apps you use rarely", "Battery", "battery"),
    ("location", "Use location", "Let apps use your location", "Location", "pin"),
    ("wifi_scanning", "Wi-Fi scanning", "Find networks even when Wi-Fi is off", "Location", "wifi"),
    ("bt_scanning", "Bluetooth scanning", "Find devices even when Bluetooth is off", "Location", "bluetooth"),
    ("camera_access", "Camera access", "Let apps use the camera", "Privacy", "camera"),
    ("mic_access", "Microphone access", "Let apps use the microphone", "Privacy", "volume"),
    ("show_passwords", "Show passwords", "Show characters briefly as you type", "Privacy", "eye"),
    ("usage_data", "Usage & diagnostics", "Send usage data", "Privacy", "info"),
    ("talkback", "Screen reader", "Speak items on the screen", "Accessibility", "accessibility"),
    ("magnify", "Magnification", "Zoom in on the screen", "Accessibility", "search"),
    ("high_contrast", "High contrast text", "Make text easier to read", "Accessibility", "eye"),
    ("auto_update", "Auto-update apps", "Update apps over Wi-Fi", "System", "download"),
    ("backup", "Back up to cloud", "Back up photos and settings", "System", "cloud"),
    ("auto_time", "Automatic date & time", "Use the network's time", "System", "clock"),
)

#: Choice settings: (key, label, category, options).
CHOICES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("screen_timeout", "Screen timeout", "Display",
     ("15 seconds", "30 seconds", "1 minute", "2 minutes", "5 minutes", "10 minutes")),
    ("font_size", "Font size", "Display", ("Small", "Default", "Large", "Largest")),
    ("ringtone", "Phone ringtone", "Sound & vibration", ("Chime", "Pebble", "Harp", "Beacon", "Ripple")),
    ("notif_sound", "Notification sound", "Notifications", ("Pop", "Ding", "Tick", "Bubble", "None")),
    ("battery_mode", "Power mode", "Battery", ("Balanced", "Performance", "Power saving")),
    ("location_accuracy", "Location accuracy", "Location", ("High", "Medium", "Low")),
    ("lock_timeout", "Lock after", "Privacy", ("Immediately", "5 seconds", "30 seconds", "1 minute")),
    ("color_correction", "Colour correction", "Accessibility", ("Off", "Deuteranomaly", "Protanomaly", "Tritanomaly")),
    ("date_format", "Date format", "System", ("DD/MM/YYYY", "MM/DD/YYYY", "YYYY-MM-DD")),
    ("hotspot_band", "Hotspot band", "Network & internet", ("2.4 GHz", "5 GHz", "Automatic")),
)

#: Settings categories in display order: (name, icon, summary).
CATEGORIES: tuple[tuple[str, str, str], ...] = (
    ("Network & internet", "wifi", "Wi-Fi, mobile, data usage"),
    ("Connected devices", "bluetooth", "Bluetooth, casting"),
    ("Display", "sun", "Theme, brightness, timeout"),
    ("Sound & vibration", "volume", "Volume, ringtone"),
    ("Notifications", "bell", "History, lock screen"),
    ("Battery", "battery", "Saver, usage"),
    ("Location", "pin", "Scanning, accuracy"),
    ("Privacy", "privacy", "Permissions, data"),
    ("Accessibility", "accessibility", "Screen reader, display"),
    ("System", "gear", "Updates, backup, time"),
)

#: Launcher apps that are not part of a task: (name, icon, colour hue).
OTHER_APPS: tuple[tuple[str, str, float], ...] = (
    ("Clock", "clock", 0.58), ("Camera", "camera", 0.0), ("Gallery", "image", 0.9), ("Music", "music", 0.8),
    ("Notes", "note", 0.13), ("Files", "folder", 0.1), ("Calendar", "calendar", 0.6), ("Weather", "weather", 0.55),
    ("Maps", "map", 0.35), ("Mail", "mail", 0.02), ("Messages", "chat", 0.5), ("Calculator", "calculator", 0.7),
    ("Browser", "globe", 0.6), ("Podcasts", "play", 0.77), ("Security", "shield", 0.4), ("Store", "bag", 0.3),
    ("Phone", "phone", 0.38), ("Recorder", "volume", 0.95), ("Drive", "cloud", 0.15), ("Tasks", "check", 0.62),
)

FIRST_NAMES = ("Ada", "Bruno", "Chen", "Dalia", "Emeka", "Farah", "Goran", "Hana", "Ines", "Jonas", "Kofi",
               "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tomoko", "Umar", "Vera",
               "Wen", "Ximena", "Yusuf", "Zofia", "Arjun", "Beatriz", "Carlos", "Dmitri", "Elif", "Fatima",
               "Gustav", "Helga", "Ivan", "Julia", "Kenji", "Laila", "Marco", "Noor")
LAST_NAMES = ("Okafor", "Lindqvist", "Moreau", "Tanaka", "Novak", "Haddad", "Silva", "Kowalski", "Nguyen",
              "Fischer", "Rossi", "Petrov", "Ibrahim", "Larsen", "Costa", "Schmidt", "Yilmaz", "Andersen",
              "Dubois", "Kim", "Mendes", "Horvat", "Sato", "Oyelaran", "Jensen", "Alvarez", "Berg", "Chopra")
EMAIL_DOMAINS = ("example.com", "mail.test", "post.example", "inbox.test")

#: Product categories and items: category -> (icon, items).
CATALOG: dict[str, tuple[str, tuple[str, ...]]] = {
    "Fruit": ("leaf", ("Apples", "Green apples", "Bananas", "Blueberries", "Cherries", "Grapes", "Kiwis", "Lemons",
                       "Limes", "Mangoes", "Oranges", "Blood oranges", "Pears", "Pineapple", "Plums", "Raspberries",
                       "Strawberries", "Watermelon")),
    "Vegetables": ("leaf", ("Broccoli", "Carrots", "Baby carrots", "Cauliflower", "Celery", "Cucumber", "Garlic",
                            "Kale", "Leeks", "Lettuce", "Onions", "Red onions", "Peppers", "Potatoes",
                            "Sweet potatoes", "Spinach", "Tomatoes", "Cherry tomatoes", "Zucchini")),
    "Bakery": ("bag", ("Bagels", "Baguette", "Brioche", "Croissants", "Rye bread", "Sourdough", "Whole wheat bread",
                       "Muffins", "Pita", "Tortillas", "Cinnamon rolls", "Scones")),
    "Dairy": ("bag", ("Butter", "Cheddar", "Cottage cheese", "Cream cheese", "Feta", "Greek yogurt", "Milk",
                      "Oat milk", "Mozzarella", "Parmesan", "Sour cream", "Yogurt")),
    "Drinks": ("bag", ("Apple juice", "Orange juice", "Coffee beans", "Green tea", "Black tea", "Lemonade",
                       "Sparkling water", "Still water", "Cola", "Ginger ale", "Iced tea", "Cocoa")),
    "Pantry": ("bag", ("Basmati rice", "Brown rice", "Flour", "Honey", "Oats", "Olive oil", "Pasta", "Peanut butter",
                       "Lentils", "Chickpeas", "Salt", "Sugar", "Tomato sauce", "Vinegar")),
    "Household": ("bag", ("Dish soap", "Laundry detergent", "Paper towels", "Sponges", "Trash bags",
                          "Toilet paper", "Light bulbs", "Batteries", "Aluminium foil", "Hand soap")),
}
LIST_NAMES = ("Groceries", "Weekly shop", "Party", "Camping", "Picnic", "Holiday", "Office", "Breakfast")

#: Menu entries (label, icon).
MENU_ITEMS: tuple[tuple[str, str], ...] = (
    ("Open", "file"), ("Rename", "pencil"), ("Duplicate", "copy"), ("Move to", "folder"), ("Share", "share"),
    ("Download", "download"), ("Print", "print"), ("Archive", "archive"), ("Add to favourites", "star"),
    ("Copy link", "link"), ("Details", "info"), ("Delete", "trash"), ("Mark as read", "check"),
    ("Pin to top", "pin"), ("Add tag", "tag"), ("Refresh", "refresh"), ("Export", "upload"), ("Settings", "gear"),
)

FILE_NAMES = ("Budget 2024.xlsx", "Quarterly report.docx", "Team photo.jpg", "Invoice 2043.pdf", "Notes.txt",
              "Roadmap.pptx", "Contract draft.docx", "Holiday plan.pdf", "Recipes.md", "Logo final.png",
              "Minutes 12 May.docx", "Tax return.pdf", "Playlist.m3u", "Backup.zip", "Floor plan.pdf",
              "Interview notes.txt", "Expenses March.csv", "Poster.svg", "Thesis v3.pdf", "Readme.md")
EMAIL_SUBJECTS = ("Lunch on Friday?", "Your order has shipped", "Meeting notes", "Invoice overdue",
                  "Welcome to the team", "Weekend plans", "Password reset", "Flight confirmation",
                  "Re: project timeline", "Photos from the trip", "Quarterly review", "Library books due",
                  "New comment on your post", "Delivery update", "Book club: next title", "Rent reminder")

TABLE_SCHEMAS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Invoices", ("Invoice", "Customer", "Amount", "Status")),
    ("Orders", ("Order", "Item", "Qty", "Status")),
    ("Employees", ("Name", "Team", "Location", "Role")),
    ("Tickets", ("Ticket", "Subject", "Priority", "Owner")),
)
STATUSES = ("Paid", "Pending", "Overdue", "Draft", "Shipped", "Open", "Closed")
TEAMS = ("Sales", "Design", "Support", "Finance", "Research", "Ops")
CITIES = ("Lisbon", "Oslo", "Nairobi", "Osaka", "Lima", "Tallinn", "Accra", "Perth", "Quebec", "Hanoi")
ROLES = ("Analyst", "Engineer", "Manager", "Designer", "Intern", "Lead")
PRIORITIES = ("Low", "Medium", "High", "Urgent")
TICKET_SUBJECTS = ("Login fails", "Slow export", "Broken link", "Typo on page", "Crash on start", "Missing data")

#: Form fields: (name, label, placeholder, input type).
FORM_FIELDS: tuple[tuple[str, str, str, str], ...] = (
    ("first", "First name", "Given name", "text"), ("last", "Last name", "Family name", "text"),
    ("email", "Email", "name@example.com", "email"), ("phone", "Phone", "+1 555 0100", "tel"),
    ("company", "Company", "Where they work", "text"), ("street", "Street", "Street and number", "text"),
    ("city", "City", "Town or city", "text"), ("zip", "Postcode", "ZIP or postcode", "text"),
    ("website", "Website", "https://", "url"), ("username", "Username", "Pick a name", "text"),
    ("password", "Password", "At least 8 characters", "password"), ("title", "Title", "Short title", "text"),
    ("notes", "Notes", "Anything else", "text"), ("birthday", "Birthday", "YYYY-MM-DD", "text"),
)
CHECK_LABELS = ("Remember me", "Subscribe to newsletter", "I agree to the terms", "Make this my default",
                "Send me a copy", "Keep me signed in", "Mark as important", "Notify me of replies",
                "Share anonymous statistics", "Show on my profile")

DIALOG_TEXTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Delete this file?", "It will be moved to the bin and deleted after 30 days.", ("Cancel", "Delete")),
    ("Discard changes?", "Your edits to this document will be lost.", ("Keep editing", "Discard")),
    ("Allow access to your location?", "The app uses it to show places near you.", ("Deny", "Allow")),
    ("Sign out?", "You will need your password to sign in again.", ("Cancel", "Sign out")),
    ("Update available", "Version 4.2 fixes bugs and improves speed.", ("Later", "Update now")),
    ("Save changes?", "Save the changes to this note before closing?", ("Don't save", "Cancel", "Save")),
    ("Turn on backup?", "Photos and settings are backed up every night.", ("No thanks", "Turn on")),
    ("Rate this app", "Tell us what you think in a quick review.", ("Not now", "Rate")),
)

__all__ = [name for name in dir() if name.isupper()]
