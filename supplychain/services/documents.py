"""Invoice documents: a PDF or an image (PNG, JPEG) backing an invoice.

- The type is sniffed from the bytes, never taken from the name or the browser's word.
- At most DOCUMENT_MAX_BYTES; an image's pixel count is read from its header and checked before
  anything decodes it (a small file can decode to hundreds of megapixels).
- Stored under a generated name (no user-chosen path), with its SHA-256 kept.
"""

import hashlib
import uuid
import warnings

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _

from platform_core.accounts.models import User
from platform_core.audit import audit_record
from platform_core.errors import ApplicationError

from ..models import Invoice, InvoiceDocument
from ._common import require_manager_of, rules

SIGNATURES = [
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
]


def sniff(head: bytes) -> tuple[str, str] | None:
    for signature, content_type, extension in SIGNATURES:
        if head.startswith(signature):
            return content_type, extension
    return None


def _image_check(content: bytes) -> None:
    from io import BytesIO

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(BytesIO(content)) as image:  # reads the header only: nothing is decoded here
                width, height = image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        width, height = 10**6, 10**6
    except Exception:
        raise ApplicationError("invalid_document", _("This image cannot be read."), field="document") from None
    if width * height > rules()["DOCUMENT_MAX_PIXELS"]:
        raise ApplicationError(
            "image_too_large",
            _("The image has too many pixels (at most %(n)d).") % {"n": rules()["DOCUMENT_MAX_PIXELS"]},
            field="document",
        )


def document_add(*, user: User, invoice_id: int, upload) -> InvoiceDocument:
    """Attach a document (an UploadedFile, or any object with read() and name) to the user's invoice."""
    from ..selectors import invoice_list

    invoice = Invoice.objects.filter(pk=invoice_id).first()
    if invoice is None:
        raise ApplicationError("not_found", _("No such invoice."), status=404)
    require_manager_of(
        user, invoice.supplier_id, visible=invoice_list(user=user).filter(pk=invoice.pk).exists(), not_found=_("No such invoice.")
    )
    limit = rules()["DOCUMENT_MAX_BYTES"]
    if upload is None:
        raise ApplicationError("invalid_document", _("Choose a file."), field="document")
    if getattr(upload, "size", None) is not None and upload.size > limit:
        raise ApplicationError(
            "document_too_large", _("A document may be at most %(mb)d MB.") % {"mb": limit // 2**20}, field="document"
        )
    content = upload.read(limit + 1)
    if len(content) > limit:
        raise ApplicationError(
            "document_too_large", _("A document may be at most %(mb)d MB.") % {"mb": limit // 2**20}, field="document"
        )
    kind = sniff(content[:16])
    if kind is None:
        raise ApplicationError("invalid_document_type", _("Upload a PDF, PNG or JPEG file."), field="document")
    content_type, extension = kind
    if content_type.startswith("image/"):
        _image_check(content)
    stored_name = f"{uuid.uuid4().hex}.{extension}"
    original = "".join(ch for ch in str(getattr(upload, "name", "") or "") if ch.isprintable())[:200]
    with transaction.atomic():
        document = InvoiceDocument(
            invoice=invoice,
            stored_name=stored_name,
            original_name=original,
            content_type=content_type,
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            uploaded_by=user,
        )
        document.file.save(stored_name, ContentFile(content), save=False)
        document.save()
        audit_record(invoice, action="document_added", actor=user, to_value=document.sha256[:16])
    return document
