"""Word pools the database generators draw names and places from (written for this project;
no apostrophes or quotes, so every value is safe to show inside an SQL string literal)."""

from __future__ import annotations

FIRST_NAMES = (
    "Aarav", "Abigail", "Adele", "Ahmed", "Aiko", "Alan", "Alba", "Alice", "Amara", "Amir",
    "Ana", "Andre", "Anika", "Anton", "Arjun", "Astrid", "Ayla", "Bela", "Ben", "Bianca",
    "Boris", "Bruno", "Camila", "Carlos", "Chen", "Chloe", "Clara", "Dalia", "Daniel", "Dario",
    "Diego", "Dmitri", "Elena", "Elif", "Emil", "Emma", "Enzo", "Erik", "Esther", "Farah",
    "Felix", "Fiona", "Gabriel", "Greta", "Hana", "Hassan", "Helena", "Hugo", "Ida", "Igor",
    "Ines", "Ivan", "Jade", "Jakob", "Jamal", "Jana", "Jonas", "Julia", "Kai", "Karim",
    "Kenji", "Kira", "Lara", "Leila", "Leo", "Lina", "Luca", "Lucia", "Maya", "Mateo",
    "Mei", "Milan", "Mira", "Nadia", "Naomi", "Nico", "Nina", "Noah", "Nora", "Oskar",
    "Omar", "Paula", "Pedro", "Priya", "Rafael", "Rania", "Rosa", "Ruben", "Sara", "Sofia",
    "Stefan", "Tariq", "Tess", "Theo", "Uma", "Vera", "Viktor", "Yara", "Yusuf", "Zoe",
)

LAST_NAMES = (
    "Abbas", "Adler", "Alvarez", "Andersen", "Bakker", "Banerjee", "Becker", "Bianchi", "Borg",
    "Brandt", "Castro", "Chowdhury", "Costa", "Dahl", "Dubois", "Eriksen", "Fischer", "Fontaine",
    "Garcia", "Gomez", "Haddad", "Hansen", "Hoffmann", "Ivanova", "Jensen", "Kato", "Keller",
    "Kim", "Kowalski", "Kruger", "Larsen", "Laurent", "Lee", "Lindqvist", "Lopez", "Marino",
    "Martin", "Meyer", "Moreau", "Mueller", "Nakamura", "Nielsen", "Novak", "Okafor", "Olsen",
    "Ortiz", "Patel", "Petrov", "Popescu", "Quinn", "Ramos", "Reyes", "Richter", "Rossi",
    "Sato", "Schmidt", "Silva", "Singh", "Sorensen", "Suzuki", "Tanaka", "Torres", "Varga",
    "Vogel", "Wagner", "Wang", "Weber", "Yilmaz", "Zhang", "Zimmermann",
)

# (city, country) pairs, used for customers, students and airports.
CITIES = (
    ("Amsterdam", "Netherlands"), ("Athens", "Greece"), ("Barcelona", "Spain"),
    ("Berlin", "Germany"), ("Bogota", "Colombia"), ("Boston", "United States"),
    ("Brussels", "Belgium"), ("Buenos Aires", "Argentina"), ("Cairo", "Egypt"),
    ("Chicago", "United States"), ("Copenhagen", "Denmark"), ("Dublin", "Ireland"),
    ("Helsinki", "Finland"), ("Istanbul", "Turkey"), ("Jakarta", "Indonesia"),
    ("Johannesburg", "South Africa"), ("Lagos", "Nigeria"), ("Lima", "Peru"),
    ("Lisbon", "Portugal"), ("London", "United Kingdom"), ("Lyon", "France"),
    ("Madrid", "Spain"), ("Manchester", "United Kingdom"), ("Melbourne", "Australia"),
    ("Mexico City", "Mexico"), ("Milan", "Italy"), ("Montreal", "Canada"),
    ("Mumbai", "India"), ("Munich", "Germany"), ("Nairobi", "Kenya"), ("Osaka", "Japan"),
    ("Oslo", "Norway"), ("Paris", "France"), ("Prague", "Czechia"), ("Rome", "Italy"),
    ("San Francisco", "United States"), ("Santiago", "Chile"), ("Sao Paulo", "Brazil"),
    ("Seoul", "South Korea"), ("Singapore", "Singapore"), ("Stockholm", "Sweden"),
    ("Sydney", "Australia"), ("Tokyo", "Japan"), ("Toronto", "Canada"), ("Vienna", "Austria"),
    ("Warsaw", "Poland"), ("Zurich", "Switzerland"),
)

PRODUCT_CATEGORIES = {
    "Kitchen": ("Kettle", "Toaster", "Skillet", "Chef Knife", "Cutting Board", "Blender", "Teapot"),
    "Garden": ("Hose", "Rake", "Planter", "Pruner", "Watering Can", "Bird Feeder", "Shovel"),
    "Electronics": ("Headphones", "Speaker", "Charger", "Webcam", "Keyboard", "Monitor", "Router"),
    "Books": ("Cookbook", "Atlas", "Novel", "Field Guide", "Poetry Collection", "Art Book"),
    "Sports": ("Yoga Mat", "Dumbbell", "Tennis Racket", "Football", "Bike Helmet", "Jump Rope"),
    "Toys": ("Puzzle", "Kite", "Board Game", "Robot Kit", "Plush Bear", "Train Set"),
    "Office": ("Desk Lamp", "Stapler", "Notebook", "Fountain Pen", "Desk Chair", "Organizer"),
    "Beauty": ("Face Cream", "Shampoo", "Hair Dryer", "Perfume", "Lip Balm", "Nail Kit"),
    "Outdoor": ("Tent", "Sleeping Bag", "Backpack", "Lantern", "Camping Stove", "Compass"),
    "Home": ("Rug", "Curtain", "Cushion", "Wall Clock", "Vase", "Blanket", "Mirror"),
}

PRODUCT_ADJECTIVES = (
    "Classic", "Compact", "Deluxe", "Eco", "Essential", "Family", "Heritage", "Lite", "Modern",
    "Nordic", "Premium", "Pro", "Rustic", "Smart", "Solid", "Studio", "Travel", "Urban", "Vintage",
    "Walnut",
)

DEPARTMENTS = (
    ("Mathematics", "Euler Hall"), ("Physics", "Curie Building"), ("Chemistry", "Curie Building"),
    ("Biology", "Darwin Hall"), ("Computer Science", "Turing Center"), ("History", "Herodotus Hall"),
    ("Literature", "Austen Hall"), ("Economics", "Smith Building"), ("Philosophy", "Herodotus Hall"),
    ("Music", "Clara Schumann Hall"),
)

COURSE_TOPICS = (
    "Foundations", "Methods", "Theory", "Laboratory", "Seminar", "Modelling", "Analysis",
    "Workshop", "History", "Topics", "Practice", "Research",
)

AIRLINES = (
    ("Aurora Air", "Norway"), ("Blue Heron Airways", "Ireland"), ("Condor Pacific", "Chile"),
    ("Danube Wings", "Austria"), ("Emerald Jet", "Ireland"), ("Falcon Express", "Egypt"),
    ("Golden Gate Air", "United States"), ("Horizon Skies", "Canada"), ("Iberia Sun", "Spain"),
    ("Jade Dragon Airlines", "Singapore"), ("Kiwi Crest", "Australia"), ("Lotus Air", "India"),
    ("Maple Leaf Wings", "Canada"), ("Nordic Star", "Sweden"), ("Orchid Airways", "Japan"),
)

# Airport codes of the cities above (their main airports' IATA codes).
AIRPORT_CODES = {
    "Amsterdam": "AMS", "Athens": "ATH", "Barcelona": "BCN", "Berlin": "BER", "Bogota": "BOG",
    "Boston": "BOS", "Brussels": "BRU", "Buenos Aires": "EZE", "Cairo": "CAI", "Chicago": "ORD",
    "Copenhagen": "CPH", "Dublin": "DUB", "Helsinki": "HEL", "Istanbul": "IST", "Jakarta": "CGK",
    "Johannesburg": "JNB", "Lagos": "LOS", "Lima": "LIM", "Lisbon": "LIS", "London": "LHR",
    "Lyon": "LYS", "Madrid": "MAD", "Manchester": "MAN", "Melbourne": "MEL", "Mexico City": "MEX",
    "Milan": "MXP", "Montreal": "YUL", "Mumbai": "BOM", "Munich": "MUC", "Nairobi": "NBO",
    "Osaka": "KIX", "Oslo": "OSL", "Paris": "CDG", "Prague": "PRG", "Rome": "FCO",
    "San Francisco": "SFO", "Santiago": "SCL", "Sao Paulo": "GRU", "Seoul": "ICN",
    "Singapore": "SIN", "Stockholm": "ARN", "Sydney": "SYD", "Tokyo": "HND", "Toronto": "YYZ",
    "Vienna": "VIE", "Warsaw": "WAW", "Zurich": "ZRH",
}
