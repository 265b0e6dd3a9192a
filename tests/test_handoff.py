"""The handoff service on real Redis and SQL: queue, atomic claim, relay, release, close."""

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.handoff import events as stream
from bot.handoff import notes
from bot.handoff.cases import SqlCases
from bot.handoff.desk import HandoffDesk, beat
from bot.handoff.events import Event, FromStaff, Moved, Queued
from bot.history.log import Handoff, HandoffEvent, History
from bot.history.masking import mask
from bot.history.retention import forget
from bot.state.store import StateStore


@pytest.fixture
async def desk(backend: dict[str, str], tmp_path: Path) -> AsyncIterator[HandoffDesk]:
    store = StateStore.open(backend["REDIS_URL"], tmp_path, timedelta(days=1))
    history = await History.open(backend["DATABASE_URL"])
    try:
        yield HandoffDesk(store.client, history, minutes_per_citizen=4, events_max_age=86_400)
    finally:
        await history.close()
        await store.close()


async def events(desk: HandoffDesk) -> list[Event]:
    read = [stream.decode(fields) for _, fields in await desk.client.xrange(stream.STREAM)]
    return [event for event in read if event]


async def cases(desk: HandoffDesk) -> list[Handoff]:
    async with desk.history.sessions() as session:
        return list((await session.scalars(select(Handoff).order_by(Handoff.id))).all())


async def transitions(desk: HandoffDesk, case: int) -> list[tuple[str, str]]:
    async with desk.history.sessions() as session:
        rows = await session.scalars(
            select(HandoffEvent).where(HandoffEvent.handoff_id == case).order_by(HandoffEvent.id))
        return [(row.event, row.actor) for row in rows]


async def test_queue_positions_and_expected_wait(desk: HandoffDesk) -> None:
    assert await desk.enqueue("tg:1", "live", "nl", "objection") == 1
    assert await desk.enqueue("tg:2", "live", "en", None) == 2
    assert [t.chat_id for t in await desk.queue()] == ["tg:1", "tg:2"]
    assert await desk.position("tg:2") == 2
    assert await desk.expected_minutes(2) == 8
    ticket = await desk.ticket("tg:2")
    assert ticket and ticket.mode == "queued" and ticket.language == "en"


async def test_two_staff_claiming_at_once_exactly_one_wins(desk: HandoffDesk) -> None:
    await desk.enqueue("tg:1", "live", "nl", None)
    results = await asyncio.gather(desk.claim("tg:1", "11", "Anna"),
                                   desk.claim("tg:1", "22", "Bram"))
    assert sorted(r.won for r in results) == [False, True]
    winner = next(r.owner for r in results if r.won)
    assert all(r.owner == winner for r in results)
    ticket = await desk.ticket("tg:1")
    assert ticket and ticket.mode == "with_staff" and ticket.agent_name == winner
    assert await desk.queue() == []
    [case] = await cases(desk)
    assert case.agent_name == winner and case.waited_seconds is not None
    assert sorted(e for e, _ in await transitions(desk, case.id)) == [
        "claim_lost", "claimed", "queued"]


async def test_twenty_citizens_and_three_staff_stay_paired(desk: HandoffDesk) -> None:
    chats = [f"tg:{n}" for n in range(20)]
    await asyncio.gather(*(desk.enqueue(chat, "live", "nl", None) for chat in chats))
    owners: dict[str, list[str]] = {}

    async def staff(agent: str) -> None:
        while waiting := await desk.queue():
            chat = random.choice(waiting).chat_id
            if (await desk.claim(chat, agent, agent)).won:
                owners.setdefault(chat, []).append(agent)
                assert await desk.from_staff(chat, agent, f"{agent}->{chat}")
                await asyncio.sleep(0)
                await desk.close(chat, agent)

    await asyncio.gather(*(staff(agent) for agent in ("a", "b", "c")))
    assert sorted(owners) == sorted(chats)
    assert all(len(agents) == 1 for agents in owners.values())
    relayed = [e for e in await events(desk) if isinstance(e, FromStaff)]
    assert sorted((e.chat_id, e.text) for e in relayed) == sorted(
        (chat, f"{agents[0]}->{chat}") for chat, agents in owners.items())
    assert {c.outcome for c in await cases(desk)} == {"closed"}


async def test_only_the_owner_relays_to_the_citizen(desk: HandoffDesk) -> None:
    await desk.enqueue("tg:1", "live", "nl", None)
    assert not await desk.from_staff("tg:1", "11", "te vroeg")
    await desk.claim("tg:1", "11", "Anna")
    assert not await desk.from_staff("tg:1", "22", "niet van mij")
    assert await desk.from_staff("tg:1", "11", "Hallo!")
    await desk.from_citizen("tg:1", "mijn bsn is 111222333")
    kinds = [(e.type, getattr(e, "text", None)) for e in await events(desk)]
    assert ("staff", "Hallo!") in kinds and ("citizen", "mijn bsn is [bsn]") in kinds
    assert ("staff", "niet van mij") not in kinds


async def test_release_keeps_the_place_and_close_records_times_and_rating(
    desk: HandoffDesk,
) -> None:
    await desk.enqueue("tg:1", "live", "nl", None)
    await desk.enqueue("tg:2", "live", "nl", None)
    await desk.claim("tg:1", "11", "Anna")
    assert await desk.position("tg:2") == 1
    assert await desk.release("tg:1", "Anna")
    assert [t.chat_id for t in await desk.queue()] == ["tg:1", "tg:2"]
    await desk.claim("tg:1", "22", "Bram")
    closed = await desk.close("tg:1", "Bram")
    assert closed and closed.agent_name == "Bram"
    assert await desk.ticket("tg:1") is None
    case = (await cases(desk))[0]
    await desk.rate(case.id, rating=4)
    await desk.rate(case.id, comment="Snel geholpen, bel me op 0612345678")
    case = (await cases(desk))[0]
    assert (case.outcome, case.rating, case.agent_name) == ("closed", 4, "Bram")
    assert case.comment == "Snel geholpen, bel me op [phone]"
    assert case.handled_seconds is not None and case.closed_at is not None
    assert [e for e, _ in await transitions(desk, case.id)] == [
        "queued", "claimed", "released", "claimed", "closed", "rated", "rated"]


async def test_cancel_while_queued_moves_the_others_up(desk: HandoffDesk) -> None:
    for n in range(4):
        await desk.enqueue(f"tg:{n}", "live", "nl", None)
    await desk.close("tg:0", "citizen")
    await desk.close("tg:1", "citizen")
    assert (await cases(desk))[0].outcome == "cancelled"
    told = {e.chat_id: e.position for e in await events(desk) if isinstance(e, Moved)}
    assert told == {"tg:1": 1, "tg:2": 1, "tg:3": 2}, "first in line, or two places up"


async def test_refused_attempts_are_recorded(desk: HandoffDesk) -> None:
    await desk.enqueue("tg:1", "live", "nl", None)
    await desk.refuse("tg:1", "telegram:999", "claim")
    case = (await cases(desk))[0]
    assert ("refused", "telegram:999") in await transitions(desk, case.id)


async def test_a_call_back_number_is_kept_for_staff_only_while_its_task_is_open(
    desk: HandoffDesk,
) -> None:
    cases = SqlCases(desk.history.engine)
    note = "Bel me op 0612345678 na 14 uur"
    task = await cases.task("tg:1", "nl", None, mask(note), kind="callback")
    await desk.keep_numbers("tg:1", task, note)
    other = await cases.task("tg:2", "nl", None, mask("mail a@b.nl"), kind="message")
    await desk.keep_numbers("tg:2", other, "mail a@b.nl")
    tasks = await cases.tasks()
    assert [t.note for t in tasks] == ["Bel me op [phone] na 14 uur", "mail [email]"]
    assert await desk.numbers(tasks) == {task: "0612345678"}
    assert await desk.ticket("tg:1") is None and await desk.queue() == [], "not a live chat"
    assert await cases.withdraw("tg:1", ("message", "callback")) == [task]
    await desk.drop_numbers("tg:1", [task])
    assert await desk.numbers(tasks) == {}
    assert [t.id for t in await cases.tasks()] == [other]
    assert await cases.finish_task(other, "Anna") == "tg:2"
    assert await cases.tasks() == []


async def test_overdue_tickets_are_reminded_once(desk: HandoffDesk) -> None:
    await desk.enqueue("tg:1", "live", "nl", None)
    assert [t.chat_id for t in await desk.overdue(0)] == ["tg:1"]
    assert await desk.overdue(0) == []


async def test_topics_map_both_ways(desk: HandoffDesk) -> None:
    await desk.remember_topic("tg:1", 101)
    assert await desk.topic_of("tg:1") == 101
    assert await desk.chat_of_topic(101) == "tg:1"
    assert await desk.chat_of_topic(102) is None


async def test_report_compares_waiting_with_the_policy_target(desk: HandoffDesk) -> None:
    from bot.ops.commands import response_times

    await desk.enqueue("tg:1", "live", "nl", None)
    await desk.claim("tg:1", "11", "Anna")
    text = await response_times(desk.history, {"target_wait_minutes": 10,
                                               "target_message_days": 2}, 30)
    assert "Staff taking a live chat: median 0.0 minutes over 1, 100% within the target of " \
           "10 minutes" in text
    assert "Staff taking a message left out of hours: no data" in text
    cases = SqlCases(desk.history.engine)
    left = await cases.task("tg:2", "nl", None, "graag uitleg", kind="message")
    await cases.finish_task(left, "Anna")
    text = await response_times(desk.history, {"target_wait_minutes": 10,
                                               "target_message_days": 2}, 30)
    assert "Staff taking a message left out of hours: median 0.0 days over 1, 100% within " \
           "the target of 2 days" in text


async def test_an_event_written_with_a_field_since_dropped_still_reads(desk: HandoffDesk) -> None:
    await desk.client.xadd(stream.STREAM, {"type": "queued", "chat": "tg:9", "at": 1,
                                           "case": "3", "kind": '"message"', "language": '"nl"',
                                           "position": "1", "note": '"[phone]"'})
    [queued] = await events(desk)
    assert isinstance(queued, Queued) and queued.case == 3


async def test_the_event_stream_is_trimmed_by_age(desk: HandoffDesk) -> None:
    await desk.client.xadd(stream.STREAM, {"type": "queued", "chat": "tg:9", "at": 1},
                           id="1000-0")
    await desk.enqueue("tg:1", "live", "nl", None)
    assert [type(e) for e in await events(desk)] == [Queued], "the old entry is gone"


async def test_a_quiet_web_chat_leaves_the_queue_and_the_count_but_stays_in_the_log(
    desk: HandoffDesk,
) -> None:
    quiet = HandoffDesk(desk.client, desk.history, 4, 86_400, abandon_seconds=0)
    for chat in ("web:gone", "tg:1", "web:here"):
        await desk.enqueue(chat, "live", "nl", None)
    await beat(desk.client, "web:gone")
    await beat(desk.client, "web:nobody")  # not at the desk: forgotten once quiet
    assert await desk.position("web:here") == 3, "heard from a moment ago: still waiting"
    assert await quiet.position("web:here") == 2, "the quiet page no longer counts"
    assert [t.chat_id for t in await quiet.queue()] == ["tg:1", "web:here"]
    assert await quiet.ticket("web:gone") is None
    outcome = {case.chat_id: case.outcome for case in await cases(desk)}
    assert outcome == {"web:gone": "abandoned", "tg:1": "open", "web:here": "open"}
    assert await desk.client.zscore("balie:handoff:alive", "web:nobody") is None


async def test_assigning_and_transferring_name_the_colleague_and_refuse_a_stale_owner(
    desk: HandoffDesk,
) -> None:
    await desk.enqueue("tg:1", "live", "nl", None)
    assert await desk.assign("tg:1", "console:2", "sue", actor="sam")
    ticket = await desk.ticket("tg:1")
    assert ticket and (ticket.mode, ticket.agent_name) == ("with_staff", "sue")
    assert await desk.position("tg:1") == 0
    assert not await desk.assign("tg:1", "console:3", "bob", actor="sam", owner="console:1")
    assert await desk.assign("tg:1", "console:3", "bob", actor="sue", owner="console:2")
    case = (await cases(desk))[0]
    assert (case.agent_name, case.claimed_at is not None) == ("bob", True)
    assert [e for e, _ in await transitions(desk, case.id)] == [
        "queued", "assigned", "refused", "transferred"]


async def test_internal_notes_are_masked_kept_per_chat_and_erased_with_it(
    desk: HandoffDesk,
) -> None:
    assert not await notes.add(desk.history, "tg:1", "sam", "nog geen handoff")
    await desk.enqueue("tg:1", "live", "nl", None)
    await desk.enqueue("tg:2", "live", "nl", None)
    assert await notes.add(desk.history, "tg:1", "sam", "Belt terug: 0612345678")
    assert [(n.author, n.text) for n in await notes.of_chat(desk.history, "tg:1")] == [
        ("sam", "Belt terug: [phone]")]
    assert await notes.of_chat(desk.history, "tg:2") == []
    await forget(desk.history, desk.client, "tg:1")
    assert await notes.of_chat(desk.history, "tg:1") == []
