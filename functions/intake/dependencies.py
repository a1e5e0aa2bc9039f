"""The intake function's composition root: its adapters and use cases, built once per execution environment
(cold start) from the validated environment; routes.py and feed.py only use them."""

from __future__ import annotations

from helpdesk import env
from helpdesk.adapters.dynamodb_notifications import DynamoFeedReader
from helpdesk.adapters.dynamodb_submissions import DynamoSubmissionRepository
from helpdesk.adapters.dynamodb_tenants import DynamoTenantRepository
from helpdesk.adapters.s3 import S3AttachmentStore, inline_key, upload_key
from helpdesk.adapters.sqs import SqsWorkQueue
from helpdesk.intake.service import IntakeService
from helpdesk.notifications.feed import FeedService

ENV = env.load(env.IntakeEnv)
TENANTS = DynamoTenantRepository(ENV.tenants_table)
SUBMISSIONS = DynamoSubmissionRepository(ENV.submissions_table, retention_days=ENV.submission_retention_days)
STORE = S3AttachmentStore(ENV.attachments_bucket)
SERVICE = IntakeService(
    SUBMISSIONS, STORE, SqsWorkQueue(ENV.work_queue_url), inline_key=inline_key, upload_key=upload_key, signer=STORE
)
FEED = FeedService(DynamoFeedReader(ENV.submissions_table))
