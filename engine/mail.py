"""Email for notifications: bilingual templates and SMTP delivery (settings in engine.config).

Mail is sent by jobs (kind `email`), written in the same transaction as the notification, so a
rolled-back action sends nothing and a failed delivery is retried like any other job; every attempt
at one job carries the same Message-ID (at least once, duplicates recognisable).
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formataddr, formatdate

from engine.config import MailSettings

SUBJECTS = {
    "assigned": ("【待办】{name}", "[To do] {name}"),
    "reminder": ("【提醒】{name} 即将到期", "[Reminder] {name} is due"),
    "escalation": ("【超时上报】{name}", "[Escalation] {name} is overdue"),
    "returned": ("【退回】{name}", "[Returned] {name}"),
    "rejected": ("【驳回】{name}", "[Rejected] {name}"),
    "approved": ("【已通过】{name}", "[Approved] {name}"),
    "info": ("【通知】{name}", "[Notice] {name}"),
    "substitute": ("【代理】您将代理同事的工作：{name}", "[Substitute] You stand in for a colleague: {name}"),
    "urge": ("【催办】{name}", "[Urged] {name}"),
    "withdrawn": ("【已撤回】{name}", "[Withdrawn] {name}"),
    "comment": ("【评论】{name}", "[Comment] {name}"),
    "cc": ("【抄送】{name}", "[CC] {name}"),
}
BODIES = (
    "{display_name}，您好：\n\n{message}\n\n流程：{process}（编号 {instance_id}）\n查看：{link}\n\n—— CRMFlow 自动发送，请勿直接回复",
    "Hello {display_name},\n\n{message}\n\nProcess: {process} (no. {instance_id})\nOpen: {link}\n\n-- sent by CRMFlow; please do not reply",
)


def render(kind: str, locale: str, **values: object) -> tuple[str, str]:
    """Subject and body in the recipient's language (zh_CN by default, English for `en*`)."""
    index = 1 if locale.lower().startswith("en") else 0
    subject = SUBJECTS.get(kind, SUBJECTS["info"])[index]
    return subject.format(**values), BODIES[index].format(**values)


def message_id(settings: MailSettings, delivery: str) -> str:
    """A Message-ID that stays the same for every attempt at one delivery (`delivery`: the email
    job's stable key), so that a worker killed between sending and recording the send causes at
    most a second copy the receiving mail system and the reader's client recognise as the same."""
    domain = settings.sender.rpartition("@")[2] or "crmflow.localhost"
    return f"<{delivery}@{domain}>"


def send(settings: MailSettings, to: str, subject: str, body: str, delivery: str | None = None) -> None:
    message = EmailMessage()
    message["From"] = formataddr((settings.sender_name, settings.sender))
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    if delivery is not None:
        message["Message-ID"] = message_id(settings, delivery)
    message.set_content(body, charset="utf-8")
    with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
        if settings.starttls:
            smtp.starttls()
        if settings.username and settings.password:
            smtp.login(settings.username, settings.password)
        smtp.send_message(message)
