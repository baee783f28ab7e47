"""Icons drawn in SVG: simple line drawings on a 24 x 24 grid, coloured by ``currentColor``.

Every icon is made of a few circles, lines and polylines written here (no icon font, no file
loaded from anywhere), so screens render offline and the same on every machine.
"""

from __future__ import annotations

#: name -> the SVG elements inside ``<svg viewBox="0 0 24 24">``.
ICONS: dict[str, str] = {
    "back": '<polyline points="15 5 8 12 15 19"/><line x1="8" y1="12" x2="20" y2="12"/>',
    "close": '<line x1="6" y1="6" x2="18" y2="18"/><line x1="18" y1="6" x2="6" y2="18"/>',
    "check": '<polyline points="5 12 10 17 19 7"/>',
    "plus": '<line x1="12" y1="5" x2="12" y2="19"/><line x1="5" y1="12" x2="19" y2="12"/>',
    "minus": '<line x1="5" y1="12" x2="19" y2="12"/>',
    "more": '<circle cx="12" cy="5" r="1.4"/><circle cx="12" cy="12" r="1.4"/><circle cx="12" cy="19" r="1.4"/>',
    "menu": '<line x1="4" y1="7" x2="20" y2="7"/><line x1="4" y1="12" x2="20" y2="12"/><line x1="4" y1="17" x2="20" y2="17"/>',
    "chevron": '<polyline points="9 5 16 12 9 19"/>',
    "search": '<circle cx="10.5" cy="10.5" r="6"/><line x1="15" y1="15" x2="20" y2="20"/>',
    "gear": '<circle cx="12" cy="12" r="3"/><circle cx="12" cy="12" r="7.5"/>'
            '<line x1="12" y1="2" x2="12" y2="4.5"/><line x1="12" y1="19.5" x2="12" y2="22"/>'
            '<line x1="2" y1="12" x2="4.5" y2="12"/><line x1="19.5" y1="12" x2="22" y2="12"/>'
            '<line x1="4.9" y1="4.9" x2="6.7" y2="6.7"/><line x1="17.3" y1="17.3" x2="19.1" y2="19.1"/>'
            '<line x1="4.9" y1="19.1" x2="6.7" y2="17.3"/><line x1="17.3" y1="6.7" x2="19.1" y2="4.9"/>',
    "trash": '<polyline points="4 7 20 7"/><path d="M6 7l1 13h10l1-13"/><path d="M9 7V4h6v3"/>'
             '<line x1="10" y1="11" x2="10" y2="17"/><line x1="14" y1="11" x2="14" y2="17"/>',
    "pencil": '<path d="M4 20l1-5L16 4l4 4L9 19z"/><line x1="13.5" y1="6.5" x2="17.5" y2="10.5"/>',
    "star": '<polygon points="12 3 14.6 9 21 9.3 16 13.5 17.7 20 12 16.4 6.3 20 8 13.5 3 9.3 9.4 9"/>',
    "heart": '<path d="M12 20s-8-5-8-11a4 4 0 0 1 8-1 4 4 0 0 1 8 1c0 6-8 11-8 11z"/>',
    "share": '<circle cx="18" cy="5" r="2.5"/><circle cx="6" cy="12" r="2.5"/><circle cx="18" cy="19" r="2.5"/>'
             '<line x1="8.2" y1="10.8" x2="15.8" y2="6.2"/><line x1="8.2" y1="13.2" x2="15.8" y2="17.8"/>',
    "bell": '<path d="M6 17V11a6 6 0 0 1 12 0v6l2 2H4z"/><path d="M10 21h4"/>',
    "home": '<polyline points="3 12 12 4 21 12"/><path d="M6 10v10h12V10"/>',
    "user": '<circle cx="12" cy="8" r="4"/><path d="M4 21c0-4 4-7 8-7s8 3 8 7"/>',
    "users": '<circle cx="9" cy="8" r="3.5"/><path d="M2 20c0-4 3-6 7-6s7 2 7 6"/><circle cx="17" cy="8" r="2.5"/>'
             '<path d="M18 14c2.5 0 4 2 4 5"/>',
    "mail": '<rect x="3" y="5" width="18" height="14" rx="2"/><polyline points="3 7 12 13 21 7"/>',
    "phone": '<path d="M5 3h4l2 5-3 2a11 11 0 0 0 6 6l2-3 5 2v4a2 2 0 0 1-2 2A17 17 0 0 1 3 5a2 2 0 0 1 2-2z"/>',
    "camera": '<rect x="3" y="7" width="18" height="13" rx="2"/><path d="M8 7l2-3h4l2 3"/><circle cx="12" cy="13" r="4"/>',
    "image": '<rect x="3" y="4" width="18" height="16" rx="2"/><circle cx="9" cy="9" r="2"/>'
             '<polyline points="3 18 9 13 13 16 16 13 21 17"/>',
    "lock": '<rect x="5" y="10" width="14" height="11" rx="2"/><path d="M8 10V7a4 4 0 0 1 8 0v3"/>',
    "wifi": '<path d="M2 9a15 15 0 0 1 20 0"/><path d="M5.5 12.5a10 10 0 0 1 13 0"/><path d="M9 16a5 5 0 0 1 6 0"/>'
            '<circle cx="12" cy="19.5" r="1"/>',
    "bluetooth": '<polyline points="6 7 18 17 12 22 12 2 18 7 6 17"/>',
    "moon": '<path d="M20 14A8 8 0 1 1 10 4a6.5 6.5 0 0 0 10 10z"/>',
    "sun": '<circle cx="12" cy="12" r="4"/><line x1="12" y1="2" x2="12" y2="5"/><line x1="12" y1="19" x2="12" y2="22"/>'
           '<line x1="2" y1="12" x2="5" y2="12"/><line x1="19" y1="12" x2="22" y2="12"/>'
           '<line x1="5" y1="5" x2="7" y2="7"/><line x1="17" y1="17" x2="19" y2="19"/>'
           '<line x1="5" y1="19" x2="7" y2="17"/><line x1="17" y1="7" x2="19" y2="5"/>',
    "volume": '<polygon points="4 9 8 9 13 5 13 19 8 15 4 15"/><path d="M16 9a4 4 0 0 1 0 6"/><path d="M18.5 6.5a8 8 0 0 1 0 11"/>',
    "download": '<line x1="12" y1="3" x2="12" y2="15"/><polyline points="7 10 12 15 17 10"/><line x1="4" y1="20" x2="20" y2="20"/>',
    "upload": '<line x1="12" y1="15" x2="12" y2="3"/><polyline points="7 8 12 3 17 8"/><line x1="4" y1="20" x2="20" y2="20"/>',
    "calendar": '<rect x="3" y="5" width="18" height="16" rx="2"/><line x1="3" y1="10" x2="21" y2="10"/>'
                '<line x1="8" y1="3" x2="8" y2="7"/><line x1="16" y1="3" x2="16" y2="7"/>',
    "clock": '<circle cx="12" cy="12" r="9"/><polyline points="12 7 12 12 16 14"/>',
    "pin": '<path d="M12 22s7-7 7-12a7 7 0 0 0-14 0c0 5 7 12 7 12z"/><circle cx="12" cy="10" r="2.5"/>',
    "cart": '<polyline points="2 4 5 4 8 16 19 16 21 7 6 7"/><circle cx="9" cy="20" r="1.5"/><circle cx="18" cy="20" r="1.5"/>',
    "folder": '<path d="M3 6a1 1 0 0 1 1-1h6l2 2h8a1 1 0 0 1 1 1v11a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1z"/>',
    "file": '<path d="M6 3h8l5 5v13H6z"/><polyline points="14 3 14 8 19 8"/>',
    "music": '<path d="M9 18V5l11-2v13"/><circle cx="6.5" cy="18" r="2.5"/><circle cx="17.5" cy="16" r="2.5"/>',
    "play": '<polygon points="7 4 20 12 7 20"/>',
    "globe": '<circle cx="12" cy="12" r="9"/><path d="M3 12h18"/><path d="M12 3c3 3 3 15 0 18"/><path d="M12 3c-3 3-3 15 0 18"/>',
    "battery": '<rect x="3" y="7" width="16" height="10" rx="2"/><line x1="22" y1="10" x2="22" y2="14"/>'
               '<rect x="5" y="9" width="9" height="6"/>',
    "cloud": '<path d="M7 19a5 5 0 0 1-.5-10A6 6 0 0 1 18 8a4.5 4.5 0 0 1 0 11z"/>',
    "bookmark": '<path d="M6 3h12v18l-6-5-6 5z"/>',
    "filter": '<polygon points="3 4 21 4 14 13 14 20 10 18 10 13"/>',
    "refresh": '<path d="M20 11a8 8 0 1 0-2 6"/><polyline points="20 4 20 11 13 11"/>',
    "info": '<circle cx="12" cy="12" r="9"/><line x1="12" y1="11" x2="12" y2="17"/><circle cx="12" cy="7.5" r="0.8"/>',
    "grid": '<rect x="4" y="4" width="6" height="6"/><rect x="14" y="4" width="6" height="6"/>'
            '<rect x="4" y="14" width="6" height="6"/><rect x="14" y="14" width="6" height="6"/>',
    "list": '<line x1="9" y1="6" x2="20" y2="6"/><line x1="9" y1="12" x2="20" y2="12"/><line x1="9" y1="18" x2="20" y2="18"/>'
            '<circle cx="5" cy="6" r="1"/><circle cx="5" cy="12" r="1"/><circle cx="5" cy="18" r="1"/>',
    "chat": '<path d="M4 5h16v11H9l-5 4z"/>',
    "map": '<polygon points="3 6 9 4 15 6 21 4 21 18 15 20 9 18 3 20"/><line x1="9" y1="4" x2="9" y2="18"/>'
           '<line x1="15" y1="6" x2="15" y2="20"/>',
    "calculator": '<rect x="5" y="3" width="14" height="18" rx="2"/><rect x="8" y="6" width="8" height="4"/>'
                  '<circle cx="9" cy="14" r="0.8"/><circle cx="12" cy="14" r="0.8"/><circle cx="15" cy="14" r="0.8"/>'
                  '<circle cx="9" cy="17.5" r="0.8"/><circle cx="12" cy="17.5" r="0.8"/><circle cx="15" cy="17.5" r="0.8"/>',
    "note": '<rect x="4" y="3" width="16" height="18" rx="2"/><line x1="8" y1="8" x2="16" y2="8"/>'
            '<line x1="8" y1="12" x2="16" y2="12"/><line x1="8" y1="16" x2="13" y2="16"/>',
    "shield": '<path d="M12 3l8 3v6c0 5-3.5 8-8 9-4.5-1-8-4-8-9V6z"/>',
    "eye": '<path d="M2 12s4-7 10-7 10 7 10 7-4 7-10 7S2 12 2 12z"/><circle cx="12" cy="12" r="3"/>',
    "link": '<path d="M10 14a4 4 0 0 0 6 0l3-3a4 4 0 0 0-6-6l-1 1"/><path d="M14 10a4 4 0 0 0-6 0l-3 3a4 4 0 0 0 6 6l1-1"/>',
    "copy": '<rect x="8" y="8" width="12" height="12" rx="2"/><path d="M16 8V5a1 1 0 0 0-1-1H5a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h3"/>',
    "print": '<path d="M6 9V3h12v6"/><rect x="3" y="9" width="18" height="8" rx="1"/><rect x="7" y="14" width="10" height="7"/>',
    "archive": '<rect x="3" y="4" width="18" height="5"/><path d="M5 9v11h14V9"/><line x1="10" y1="13" x2="14" y2="13"/>',
    "tag": '<path d="M3 12V4h8l10 10-8 8z"/><circle cx="7.5" cy="8.5" r="1.3"/>',
    "send": '<polygon points="3 11 21 3 14 21 11 13"/><line x1="11" y1="13" x2="21" y2="3"/>',
    "apps": '<circle cx="6" cy="6" r="1.6"/><circle cx="12" cy="6" r="1.6"/><circle cx="18" cy="6" r="1.6"/>'
            '<circle cx="6" cy="12" r="1.6"/><circle cx="12" cy="12" r="1.6"/><circle cx="18" cy="12" r="1.6"/>'
            '<circle cx="6" cy="18" r="1.6"/><circle cx="12" cy="18" r="1.6"/><circle cx="18" cy="18" r="1.6"/>',
    "square": '<rect x="6" y="6" width="12" height="12" rx="1"/>',
    "circle": '<circle cx="12" cy="12" r="7"/>',
    "triangle_left": '<polygon points="16 5 7 12 16 19"/>',
    "signal": '<line x1="5" y1="19" x2="5" y2="16"/><line x1="10" y1="19" x2="10" y2="12"/>'
              '<line x1="15" y1="19" x2="15" y2="8"/><line x1="20" y1="19" x2="20" y2="4"/>',
    "weather": '<circle cx="9" cy="9" r="3.5"/><path d="M9 20a4 4 0 0 1 0-8h1a5 5 0 0 1 9 2 3 3 0 0 1 0 6z"/>',
    "bag": '<path d="M5 8h14l-1 13H6z"/><path d="M9 8V6a3 3 0 0 1 6 0v2"/>',
    "leaf": '<path d="M5 19C5 9 11 4 20 4c0 9-5 15-15 15z"/><line x1="5" y1="19" x2="13" y2="11"/>',
    "accessibility": '<circle cx="12" cy="4.5" r="1.8"/><path d="M5 8l7 1.5L19 8"/><path d="M12 9.5v5l-3 6"/>'
                     '<path d="M12 14.5l3 6"/>',
    "devices": '<rect x="2" y="5" width="14" height="11" rx="1"/><rect x="17" y="9" width="5" height="11" rx="1"/>'
               '<line x1="5" y1="19" x2="13" y2="19"/>',
    "privacy": '<path d="M12 3l8 3v6c0 5-3.5 8-8 9-4.5-1-8-4-8-9V6z"/><circle cx="12" cy="11" r="2"/>'
               '<line x1="12" y1="13" x2="12" y2="16"/>',
    "storage": '<ellipse cx="12" cy="6" rx="8" ry="3"/><path d="M4 6v12c0 1.7 3.6 3 8 3s8-1.3 8-3V6"/>'
               '<path d="M4 12c0 1.7 3.6 3 8 3s8-1.3 8-3"/>',
}


def svg(name: str) -> str:
    """The ``<svg>`` markup of icon ``name`` (a KeyError names the unknown icon)."""
    return (f'<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.8" '
            f'stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">{ICONS[name]}</svg>')


__all__ = ["ICONS", "svg"]
