"""Fonts that can show the notes' Chinese: a CSS fallback list for the HTML, and a CJK font for matplotlib
when one is installed (nothing is downloaded)."""

# Families tried in order; the first installed one draws CJK glyphs that the Latin font lacks.
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
                "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "PingFang SC", "Microsoft YaHei", "SimHei",
                "Droid Sans Fallback", "AR PL UMing CN")

CSS_FONT_STACK = ('system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK SC", '
                  '"Source Han Sans SC", "WenQuanYi Micro Hei", "PingFang SC", "Microsoft YaHei", sans-serif')


def installed_cjk_font():
    """The name of the first installed CJK family of ``CJK_FAMILIES`` known to matplotlib, or None."""
    from matplotlib import font_manager
    names = {font.name for font in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in names), None)


def use_cjk_font():
    """Put an installed CJK font behind matplotlib's default sans-serif font (matplotlib falls back glyph by
    glyph), so Chinese labels render instead of boxes.  Returns the family used, or None when none is installed."""
    import matplotlib
    family = installed_cjk_font()
    if family is None:
        return None
    current = [f for f in matplotlib.rcParams["font.sans-serif"] if f != family]
    matplotlib.rcParams["font.sans-serif"] = current[:1] + [family] + current[1:]
    matplotlib.rcParams["font.family"] = "sans-serif"
    return family
