"""The one check for uploaded pictures: size on disk, type sniffed from the bytes, pixel count.

- Size: the bytes on disk, against the caller's limit.
- Type: Pillow identifies the format from the file's own bytes; the name and the Content-Type the
  client sent are not trusted.
- Pixels: read from the header, before anything is decoded. A file of a few kilobytes can decode to
  20,000 x 20,000 pixels (1.2 GB of memory); Pillow's own guard raises DecompressionBombError only
  above twice its global limit, and a 500 at that. Here the limit is the caller's and the answer a
  field error.
- Name: the stored file gets a generated name (a random hex string and the sniffed type's
  extension); the client's file name never reaches the storage.
"""

import uuid
import warnings

from django.utils.translation import gettext as _

from platform_core.errors import ApplicationError

EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}


def image_upload_check(upload, *, field: str, max_bytes: int, types: list[str], max_pixels: int) -> str:
    """Check an uploaded picture and give it a generated name; returns its format ("PNG", ...).

    Raises ApplicationError `<field>_too_large`, `<field>_invalid`, `<field>_type` or
    `<field>_too_many_pixels`, with the message beside `field`."""
    from PIL import Image, UnidentifiedImageError

    if upload.size > max_bytes:
        raise ApplicationError(
            f"{field}_too_large", _("The picture may be at most %(mb)s MB.") % {"mb": max_bytes // (1024 * 1024)}, field=field
        )
    invalid = ApplicationError(f"{field}_invalid", _("The file is not a readable picture."), field=field)
    position = upload.tell() if hasattr(upload, "tell") else 0
    too_many_pixels = ApplicationError(
        f"{field}_too_many_pixels",
        _("The picture has too many pixels; at most %(mp)s megapixels are accepted.") % {"mp": f"{max_pixels / 1_000_000:g}"},
        field=field,
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # judged below, on our own limit
            picture = Image.open(upload)  # reads the header only: format and size, no pixel decoded
    except Image.DecompressionBombError:  # the header's size is above twice Pillow's own limit
        raise too_many_pixels from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise invalid from None
    try:
        with picture:
            kind, (width, height) = picture.format, picture.size
            if kind not in types:
                raise ApplicationError(
                    f"{field}_type", _("The picture must be one of: %(types)s.") % {"types": ", ".join(types)}, field=field
                )
            if width * height > max_pixels:
                raise too_many_pixels
            picture.verify()  # the file's structure (chunks, checksums), still without decoding the pixels
    except (Image.DecompressionBombError, OSError, SyntaxError, ValueError, EOFError):
        raise invalid from None
    upload.seek(position)
    upload.name = f"{uuid.uuid4().hex}.{EXTENSIONS.get(kind, 'img')}"
    return kind
