"""The KYC-provider interface and its sandbox.

A provider answers `check(subject)` with a `KycResult`. A real provider that answers later returns
`pending` and calls `platform_core.accounts.services.kyc_record` from its webhook.
"""

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

from .models import KycStatus, Organisation, User
from .validators import credit_code_check_char, credit_code_is_valid, resident_id_check_char, resident_id_is_valid

#: Well-formed numbers the sandbox always rejects, to exercise the rejected path (like test cards).
SANDBOX_REJECTED_PERSON = "11010119900307007" + resident_id_check_char("11010119900307007")
SANDBOX_REJECTED_ORGANISATION = "91110000REJECT000" + credit_code_check_char("91110000REJECT000")
SANDBOX_REJECTED_NUMBERS = {SANDBOX_REJECTED_PERSON, SANDBOX_REJECTED_ORGANISATION}


@dataclass(frozen=True)
class KycResult:
    status: str
    reference: str
    reason: str = ""


class KycProvider:
    name = "abstract"

    def check(self, subject: User | Organisation) -> KycResult:  # pragma: no cover - interface
        raise NotImplementedError


class SandboxKycProvider(KycProvider):
    """Verifies test identities at once: a well-formed resident identity number for a person, a
    valid unified social credit code for an organisation. Rejects everything else, and the numbers
    in SANDBOX_REJECTED_NUMBERS."""

    name = "sandbox"

    def check(self, subject):
        reference = f"sandbox-{uuid.uuid4()}"
        number = subject.credit_code if isinstance(subject, Organisation) else subject.id_number
        valid = credit_code_is_valid(number) if isinstance(subject, Organisation) else resident_id_is_valid(number)
        if not valid:
            return KycResult(KycStatus.REJECTED, reference, "The identity number is missing or malformed.")
        if number in SANDBOX_REJECTED_NUMBERS:
            return KycResult(KycStatus.REJECTED, reference, "The sandbox rejects this test identity.")
        return KycResult(KycStatus.VERIFIED, reference)


def kyc_provider() -> KycProvider:
    return import_string(settings.PLATFORM["KYC_PROVIDER"])()
