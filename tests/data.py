"""The business data tests start processes with, in one place: a complaint as seed 004's register
records it, a lead as a salesperson captures it, an approval request of any type."""

from __future__ import annotations

import secrets

COMPLAINT = {
    "customer": "宁波海联贸易有限公司",
    "contact": "王先生 13800000000",
    "channel": "phone",
    "category": "quality",
    "description": "到港货物外箱破损，部分产品受潮",
    "demand": "赔偿损失",
    "severity": "high",
}

DEMO_USERS = ("cs_sup", "cs_agent1", "qa_staff", "qa_lead", "tr_lead", "gm", "vp_service", "admin")


def lead(**extra: object) -> dict[str, object]:
    """A complete lead of a company no other test uses (the duplicate check matches on name, phone, email)."""
    tag = secrets.token_hex(3)
    return {
        "company": f"慈溪{tag}电器有限公司",
        "contact_name": "李经理",
        "phone": f"0574-{int(tag, 16) % 10**8:08d}",
        "email": f"li.{tag}@example.cn",
        "source": "customs",
        "industry": "小家电",
        "need": "出口拼箱运输",
        "estimated_value": 80000,
        **extra,
    }


def approval_request(request_type: str, amount: float, **extra: object) -> dict[str, object]:
    return {
        "request_type": request_type,
        "title": f"{request_type} {amount}",
        "amount": amount,
        "currency": "CNY",
        "description": "demo",
        **extra,
    }
