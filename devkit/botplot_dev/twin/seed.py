"""What exists before the twin's sample events run, written as an operator would (never by a twin).

``python -m botplot_dev.twin.seed`` with the twin stack's environment (``AWS_ENDPOINT_URL`` and the
``BOTPLOT_TABLE_*`` names): an enterprise project and its keys (``botplot project create``) and one
webhook whose host can never resolve (``.invalid``, RFC 6761), so the webhook worker's delivery
attempt fails and retries without anything leaving the machine. (The sample create-webhook event
needs a public address, which the functions accept; nothing is ever delivered to it.) Prints JSON.
"""

from __future__ import annotations

import json

from botplot import clock, ids
from botplot.db.webhooks import Webhook
from botplot.services import projects

UNREACHABLE_WEBHOOK = "https://webhooks.botplot-twin.invalid/hook"


def main() -> None:
    project, keys = projects.create_project("Lambda twin", "enterprise")
    webhook = Webhook(project.project_id, ids.uuid7(), url=UNREACHABLE_WEBHOOK, events=["lead.captured"],
                      description="unreachable (twin)", secret=ids.new_webhook_secret(), is_active=True,
                      consecutive_failures=0, created_at=clock.iso_ms(clock.now()))
    webhook.save()
    print(json.dumps({"projectId": project.project_id, "publicKey": keys.public_key, "secretKey": keys.secret_key,
                      "unreachableWebhookId": webhook.webhook_id}))


if __name__ == "__main__":
    main()
