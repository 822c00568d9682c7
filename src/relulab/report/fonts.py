"""Fonts that can show the notes' Chinese: a CSS fallback list for the HTML, and a CJK font for matplotlib
when one is installed (nothing is downloaded)."""

# Families tried in order; the first installed one draws CJK glyphs that the Latin font lacks.
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
                "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "PingFang SC", "Microsoft YaHei", "SimHei",
                "Droid Sans Fallback", "AR PL UMing CN")

CSS_FONT_STACK = ('system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK SC", '
                  '"Source Han Sans SC", "WenQuanYi Micro Hei", "PingFang SC", "Microsoft YaHei", sans-serif')


# File-name hints of CJK fonts, for fonts installed after matplotlib cached its font list.
_CJK_FILE_HINTS = ("cjk", "sourcehansans", "wqy", "wenquanyi", "pingfang", "msyh", "simhei", "droidsansfallback",
                   "notosanssc")


def installed_cjk_font():
    """The name of the first installed CJK family of ``CJK_FAMILIES``, or None.  Matplotlib's cached font list
    is asked first; when it knows none, the system's font files are scanned once and CJK ones are added to it."""
    from matplotlib import font_manager
    names = {font.name for font in font_manager.fontManager.ttflist}
    family = next((f for f in CJK_FAMILIES if f in names), None)
    if family is None and not getattr(installed_cjk_font, "scanned", False):
        installed_cjk_font.scanned = True
        for path in font_manager.findSystemFonts():
            if any(hint in path.lower().replace("-", "").replace("_", "") for hint in _CJK_FILE_HINTS):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):  # an unreadable font file is skipped, not fatal
                    continue
        names = {font.name for font in font_manager.fontManager.ttflist}
        family = next((f for f in CJK_FAMILIES if f in names), None)
    return family


def use_cjk_font():
    """Put an installed CJK font behind matplotlib's default sans-serif font: with a list of families matplotlib
    falls back glyph by glyph, so Chinese labels render instead of boxes.  Returns the family used, or None when
    none is installed."""
    import matplotlib
    family = installed_cjk_font()
    if family is None:
        return None
    latin = next((f for f in matplotlib.rcParams["font.sans-serif"] if f != family), "DejaVu Sans")
    matplotlib.rcParams["font.family"] = [latin, family]
    return family
