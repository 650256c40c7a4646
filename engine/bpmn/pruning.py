"""Keep an instance's task tree to the part that can still matter.

SpiffWorkflow keeps every task it ever ran, as a tree: each loop round hangs new levels under the
last. Every engine step walks that tree, so a step costs more the longer an instance has run, and
past depth 1,000 the library's iterator no longer sees the newest tasks at all (`is_completed()`
then answers yes with work still open). What ran is kept in our own history table, so the engine
only needs the subtree in which every live task, and the parent of each, still lies.

`prune` cuts the finished levels above that subtree once they are `PRUNE_DEPTH` deep and hangs the
subtree under the workflow's root; subprocesses whose calling task is gone go with it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import internals

PRUNE_DEPTH = 40  # finished levels tolerated above the live subtree before they are cut
ITERATOR_REACH = 900  # SpiffWorkflow's task iterator stops at depth 1,000; stay clear of it


def prune(workflow: BpmnWorkflow, min_depth: int = PRUNE_DEPTH) -> int:
    """Cut finished history out of the workflow and its subprocesses; returns the tasks removed."""
    removed = _prune_tree(workflow, min_depth)
    removed += _drop_orphan_subprocesses(workflow)
    for subprocess in list(workflow.subprocesses.values()):
        removed += _prune_tree(subprocess, min_depth)
    return removed + _drop_orphan_subprocesses(workflow)


def deepest_level(workflow: BpmnWorkflow, beyond: int = 0) -> int:
    """The depth of the deepest task in the workflow or any subprocess, counting only trees with
    more than `beyond` tasks (a tree cannot be deeper than it has tasks, so most are skipped)."""
    deepest = 0
    for tree in (workflow, *workflow.subprocesses.values()):
        if len(tree.tasks) <= max(deepest, beyond):
            continue
        depth: dict[UUID, int] = {}
        for task in tree.tasks.values():
            chain = []
            node = task
            while node is not None and node.id not in depth:
                chain.append(node)
                node = node.parent
            level = depth[node.id] if node is not None else -1
            for item in reversed(chain):
                level += 1
                depth[item.id] = level
            deepest = max(deepest, depth[task.id])
    return deepest


def _prune_tree(tree: Any, min_depth: int) -> int:
    tasks = tree.tasks
    if len(tasks) <= min_depth:
        return 0
    anchors = [task.parent for task in tasks.values() if not task.has_state(TaskState.FINISHED_MASK) and task.parent is not None]
    if tree.last_task is not None and tree.last_task.id in tasks:
        anchors.append(tree.last_task)
    if not anchors:
        return 0  # finished: nothing will walk this tree again
    path = _path_from_root(anchors[0])
    if len(path) <= min_depth + 1:
        return 0
    position = {task.id: i for i, task in enumerate(path)}
    meet = len(path) - 1
    for anchor in anchors[1:]:
        node = anchor
        while node.id not in position:
            node = node.parent
        meet = min(meet, position[node.id])
        if meet <= min_depth:
            return 0
    cut = path[meet]
    root = tree.task_tree
    keep = {root.id}
    stack = [cut]
    while stack:
        node = stack.pop()
        keep.add(node.id)
        stack.extend(node.children)
    gone = [task_id for task_id in tasks if task_id not in keep]
    for task_id in gone:
        del tasks[task_id]
    internals.graft(root, cut)
    return len(gone)


def _path_from_root(task: Any) -> list[Any]:
    path = []
    node = task
    while node is not None:
        path.append(node)
        node = node.parent
    path.reverse()
    return path


def _drop_orphan_subprocesses(workflow: BpmnWorkflow) -> int:
    """Subprocesses are kept by the id of the task that called them; once that task is cut, the
    subprocess (and any nested in it) can never be reached again."""
    removed = 0
    while True:
        alive = set(workflow.tasks)
        for subprocess in workflow.subprocesses.values():
            alive.update(subprocess.tasks)
        orphans = [task_id for task_id in workflow.subprocesses if task_id not in alive]
        if not orphans:
            return removed
        for task_id in orphans:
            removed += len(workflow.subprocesses.pop(task_id).tasks)
