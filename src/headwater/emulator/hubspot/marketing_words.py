"""Fixed names and value pools of the generated marketing data (``marketing.py``)."""

from __future__ import annotations

FORM_NAMES = (
    "Contact us",
    "Newsletter sign-up",
    "Demo request",
    "Webinar registration",
    "Ebook download",
    "Event RSVP",
    "Partner application",
    "Support request",
)
EMAIL_NAMES = (
    "Welcome series 1",
    "Monthly newsletter",
    "Product launch",
    "Webinar invite",
    "Webinar follow-up",
    "Spring promotion",
    "Customer survey",
    "Feature digest",
    "Re-engagement",
    "Event reminder",
    "Holiday greetings",
    "Renewal notice",
)
CAMPAIGN_NAMES = (
    "Spring launch 2025",
    "Webinar series",
    "Customer retention",
    "Partner summit",
    "Holiday 2025",
    "Always-on nurture",
)
SUBSCRIPTION_TYPES = (
    ("Marketing Information", "Marketing offers and updates.", "Marketing", True),
    ("One to One", "One to one emails", "Sales", True),
    ("Newsletter", "The monthly newsletter", "Marketing", False),
    ("Product updates", "Release notes and new features", "Product", False),
    ("Events", "Webinars, conferences and meetups", "Marketing", False),
)
WORKFLOW_NAMES = (
    "Lead nurturing",
    "MQL hand-off",
    "Deal won follow-up",
    "Trial onboarding",
    "Ticket escalation",
    "Re-engage cold contacts",
    "Webinar reminders",
    "Lifecycle stage sync",
    "Renewal reminders",
    "Unsubscribe clean-up",
)
BOUNCE_CATEGORIES = ("UNKNOWN_USER", "MAILBOX_FULL", "POLICY", "SPAM", "DNS_FAILURE")
DROP_REASONS = ("PREVIOUSLY_BOUNCED", "PREVIOUSLY_UNSUBSCRIBED_MESSAGE", "PREVIOUS_SPAM")
BROWSERS = (("Chrome", "Google Inc."), ("Safari", "Apple Inc."), ("Firefox", "Mozilla Foundation"))
CITIES = (
    ("United States", "massachusetts", "boston"),
    ("Germany", "berlin", "berlin"),
    ("France", "ile-de-france", "paris"),
    ("United Kingdom", "england", "london"),
)
FORM_FIELDS = (
    ("email", "Email", "email"),
    ("firstname", "First name", "single_line_text"),
    ("lastname", "Last name", "single_line_text"),
    ("message", "Message", "multi_line_text"),
)
