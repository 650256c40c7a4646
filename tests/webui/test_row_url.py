"""A table's links built from one url_for: the same address url_for gives for each row."""

from __future__ import annotations

import pytest
from flask import Flask, url_for

from webui.ui import row_url


def test_each_row_gets_the_address_url_for_gives(app: Flask) -> None:
    with app.test_request_context("/"):
        claim = row_url("tasks.claim", "task_id", next="/tasks?tab=available&q=宁波")
        instance = row_url("instances.show", "instance_id")
        for task_id in ("3d90024e-6116-41f6-8fd4-c3419af88494", "a b/c"):
            assert claim(task_id) == url_for("tasks.claim", task_id=task_id, next="/tasks?tab=available&q=宁波")
        for instance_id in (1, 2147483647):
            assert instance(instance_id) == url_for("instances.show", instance_id=instance_id)


def test_a_value_that_is_not_part_of_the_address_is_refused(app: Flask) -> None:
    with app.test_request_context("/"), pytest.raises(ValueError, match="not part of its address's path"):
        row_url("worklist.index", "tab")
