"""Mailboxes of one tenant (placeholder until the mail generator lands)."""

from __future__ import annotations


class MailPlan:
    def __init__(self, world, tenant):
        self.world = world
        self.tenant = tenant

    def mailbox(self, user) -> list:
        return []

    def find(self, message_id: str):
        return None

    def truth(self) -> dict:
        return {"billing_messages": [], "invoices": [], "spend": {}}
