"""The secret box as the stack wires it (KMS key, sealing key on the table), for tests that
build their services by hand."""

from __future__ import annotations

from mailport.adapters.clients import ClientSource, LazyClient
from mailport.adapters.dynamodb_sealing_keys import DynamoSealingKeys
from mailport.adapters.kms import KmsSecretBox
from mailport_local.stack import LocalStack


def kms_box(
    local_stack: LocalStack,
    kms: ClientSource | None = None,
    dynamodb: ClientSource | None = None,
) -> KmsSecretBox:
    """A ``KmsSecretBox`` on the local stack's key and table."""
    return KmsSecretBox(
        local_stack.physical_id("CredentialsKey"),
        client=kms or LazyClient("kms"),
        keys=DynamoSealingKeys(
            local_stack.physical_id("MailportTable"), client=dynamodb or LazyClient("dynamodb")
        ),
    )
