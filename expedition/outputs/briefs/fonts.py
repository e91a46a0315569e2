"""Fonts for briefs: DejaVu Sans (shipped inside matplotlib) for Latin text, WenQuanYi Micro Hei for Chinese.

The Chinese font comes from the PyPI package ``paperang-p2-fonts-cjk`` (WenQuanYi Micro Hei 0.2.0-beta,
Apache License 2.0 per the font's own name table; TrueType outlines, so fpdf2 embeds a subset). Fallbacks,
in order: ``QE_CJK_FONT`` (a .ttf/.ttc/.otf path), then Debian's ``fonts-wqy-microhei`` and
``fonts-noto-cjk`` packages.
"""

from __future__ import annotations

import os
from functools import cache
from importlib import resources
from pathlib import Path

import matplotlib

from expedition.errors import BriefError

__all__ = ["CJK_FAMILY", "cjk_font", "latin_fonts"]

CJK_FAMILY = "WenQuanYi Micro Hei"
_DEBIAN = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),  # index 2: Noto Sans CJK SC
)


@cache
def latin_fonts() -> tuple[Path, Path]:
    """Regular and bold DejaVu Sans from matplotlib's data directory."""
    base = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    regular, bold = base / "DejaVuSans.ttf", base / "DejaVuSans-Bold.ttf"
    if not regular.is_file() or not bold.is_file():
        raise BriefError(f"DejaVu Sans not found under {base} (matplotlib installation incomplete)")
    return regular, bold


@cache
def cjk_font() -> tuple[Path, int]:
    """Path of a CJK font file and its index in a collection (.ttc)."""
    env = os.environ.get("QE_CJK_FONT")
    if env:
        if not Path(env).is_file():
            raise BriefError(f"QE_CJK_FONT={env!r} is not a font file")
        return Path(env), 0
    try:
        pkg = Path(str(resources.files("paperang_p2_fonts_cjk") / "fonts" / "wqy-microhei.ttc"))
        if pkg.is_file():
            return pkg, 0
    except ModuleNotFoundError:
        pass
    for path, index in _DEBIAN:
        if Path(path).is_file():
            return Path(path), index
    raise BriefError(
        "no Chinese font found: `pip install paperang-p2-fonts-cjk` (a project dependency), "
        "or `apt-get install fonts-wqy-microhei`, or set QE_CJK_FONT to a .ttf/.ttc file"
    )
