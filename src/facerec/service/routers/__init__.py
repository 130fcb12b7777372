"""One router per resource: health, recognition (photos in, faces out), people, faces, keys, and the web page."""

__all__: list[str] = []
