"""Webhooks: a store's events posted, signed by the Standard Webhooks specification, to the URLs
its owner subscribed (`jobs.models.Webhook`), with retries, a delivery log and SSRF guards."""
