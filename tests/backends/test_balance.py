"""The balancer's choice, without threads or servers: least outstanding work, the queue depth, servers down."""

from __future__ import annotations

import asyncio

import pytest

from vivant.backends.balance import AsyncBalancer, Balancer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_next_job_goes_to_the_least_outstanding_work_then_fewest_jobs_then_first_named() -> None:
    bal = Balancer(["a", "b", "c"], clock=Clock())
    assert bal.choose() == 0  # all idle: the first named
    bal.take(0, 30.0)  # a: one long job
    bal.take(1, 5.0)
    bal.take(1, 5.0)  # b: two short ones (10 s)
    bal.take(2, 10.0)  # c: one job of 10 s
    assert bal.choose() == 2  # b and c hold the same work: c holds fewer jobs
    bal.take(2, 1.0)
    assert bal.choose() == 1  # now b holds the least work
    bal.give(0, 30.0, ok=True)
    assert bal.choose() == 0 and bal.slots[0].done == 1
    assert bal.choose(avoid=0) == 1  # a job that just failed on a goes elsewhere when it can


def test_each_server_holds_at_most_depth_jobs_when_there_are_several() -> None:
    bal = Balancer(["a", "b"], depth=2, clock=Clock())
    for _ in range(4):
        k = bal.choose()
        assert k is not None
        bal.take(k, 1.0)
    assert [s.in_flight for s in bal.slots] == [2, 2]
    assert bal.choose() is None  # the fifth waits here for the first free place
    bal.give(1, 1.0, ok=False)
    assert bal.choose() == 1 and bal.slots[1].failed == 1
    assert [s.peak for s in bal.slots] == [2, 2]


def test_one_server_takes_every_job_whatever_the_depth() -> None:
    bal = Balancer(["only"], depth=2, clock=Clock())
    for _ in range(5):
        assert bal.choose() == 0
        bal.take(0, 1.0)
    assert bal.slots[0].in_flight == 5


def test_a_server_marked_down_is_passed_over_until_its_time_is_up() -> None:
    clock = Clock()
    bal = Balancer(["a", "b"], clock=clock)
    bal.take(1, 50.0)  # b is busy, a idle...
    bal.down(0, 30)  # ...but a is down
    assert bal.choose() == 1
    assert bal.next_change() == pytest.approx(30.0)
    clock.now += 31
    assert bal.choose() == 0 and bal.next_change() is None
    bal.down(0, 10)
    bal.up(0)  # marked up again by the caller before its time
    assert bal.choose() == 0


def test_when_every_server_is_down_the_one_down_longest_is_tried() -> None:
    clock = Clock()
    bal = Balancer(["a", "b", "c"], clock=clock)
    bal.down(0, 60)
    bal.down(1, 20)
    bal.down(2, 40)
    assert bal.choose() == 1  # the caller's retry policy finds out whether it is back


def test_a_lease_counts_a_failed_body_and_gives_the_place_back() -> None:
    bal = Balancer(["a", "b"], depth=1, clock=Clock())
    with pytest.raises(RuntimeError), bal.lease(3.0) as k:
        assert bal.slots[k].work == 3.0
        raise RuntimeError("the job failed")
    assert bal.slots[k].failed == 1 and bal.slots[k].in_flight == 0 and bal.slots[k].work == 0.0


def test_the_async_balancer_spreads_jobs_by_work_and_releases_them() -> None:
    async def main() -> list[int]:
        bal = AsyncBalancer(["a", "b"], depth=2, clock=Clock())
        got = [await bal.acquire(cost) for cost in (10.0, 1.0, 1.0)]
        assert [s.work for s in bal.slots] == [10.0, 2.0]
        for k, cost in zip(got, (10.0, 1.0, 1.0), strict=True):
            await bal.release(k, cost)
        assert all(s.in_flight == 0 and s.work == 0.0 for s in bal.slots)
        return got

    assert asyncio.run(main()) == [0, 1, 1]
