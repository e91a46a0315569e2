"""The brief as Markdown. Images are written beside the file (``<stem>_N.png``) and linked relatively,
so the Markdown stays readable in any viewer; :func:`render_md` returns the text and the images."""

from __future__ import annotations

from expedition.outputs.briefs.blocks import Document

__all__ = ["render_md"]


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_md(doc: Document, image_stem: str) -> tuple[bytes, dict[str, bytes]]:
    """Markdown text and ``{file name: PNG bytes}`` of its images."""
    out: list[str] = []
    images: dict[str, bytes] = {}
    for b in doc.blocks:
        if b.kind == "h1":
            out += [f"# {b.text}", ""]
        elif b.kind == "h2":
            out += [f"## {b.text}", ""]
        elif b.kind == "h3":
            out += [f"### {b.text}", ""]
        elif b.kind == "p":
            out += [b.text, ""]
        elif b.kind == "note":
            out += [f"> {b.text}", ""]
        elif b.kind == "status":
            label = f"{b.caption}: " if b.level == "safety" else ""
            out += [f"**{label}{b.text}**", ""]
        elif b.kind == "alert":
            out += [f"**{b.text}**", ""]
        elif b.kind == "table":
            header = b.header or tuple("" for _ in (b.rows[0] if b.rows else ()))
            out.append("| " + " | ".join(_cell(h) for h in header) + " |")
            out.append("|" + "---|" * len(header))
            out += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in b.rows]
            out += ["", f"*{b.caption}*" if b.caption else "", ""]
        elif b.kind in ("img", "figs"):
            for png, caption in ((b.image, b.caption),) if b.kind == "img" else ((f[0], f[1]) for f in b.figures):
                name = f"{image_stem}_{len(images) + 1}.png"
                images[name] = png
                out += [f"![{_cell(caption)[:80]}]({name})", "", f"*{caption}*", ""]
        elif b.kind == "changes":
            out += [f"**{b.text}**", "", *(f"- {r[0]}" for r in b.rows), ""]
        elif b.kind == "notes":
            out += [f"<small>{' '.join(f'{n} {_cell(s)}' for n, s in b.rows)}</small>", ""]
        elif b.kind == "pagebreak":
            out += ["---", ""]
    return ("\n".join(out).rstrip() + "\n").encode("utf-8"), images
