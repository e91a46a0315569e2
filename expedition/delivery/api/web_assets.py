"""Local assets of the web pages: the CJK web font.

Browsers do not load a TrueType *collection* (.ttc) through ``@font-face``, so the first face of the
brief's Chinese font (:func:`expedition.outputs.briefs.fonts.cjk_font`, WenQuanYi Micro Hei, Apache-2.0) is
written once as a plain .ttf into the cache directory (temp name, then rename) and served from there.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

__all__ = ["cjk_web_font"]

_LOCK = threading.Lock()


def cjk_web_font(cache_dir: Path) -> Path:
    """Path of the CJK web font (.ttf), extracted from the brief's font on first use."""
    from fontTools.ttLib import TTCollection, TTFont

    from expedition.outputs.briefs.fonts import cjk_font

    src, index = cjk_font()
    out = Path(cache_dir) / "web" / f"{src.stem}-{index}.ttf"
    with _LOCK:
        if out.is_file():
            return out
        out.parent.mkdir(parents=True, exist_ok=True)
        font = TTCollection(str(src)).fonts[index] if src.suffix.lower() == ".ttc" else TTFont(str(src))
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
        os.close(fd)
        try:
            font.save(tmp)
            os.replace(tmp, out)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return out
