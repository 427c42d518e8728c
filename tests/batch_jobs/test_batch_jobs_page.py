"""``/admin/batch-jobs`` through the Flask test client: the example purchase app's
``monthly_spend`` job listed, a dry run and a real run submitted through the job runner
(the embedded queue, run by ``service.jobs.run_due``), the run page with its progress
while queued and after, a bad period told on the page; admins only."""

from __future__ import annotations

from decimal import Decimal

from engine.service import Actor
from tests.batch_jobs.conftest import BOTH_ENGINES, SQLITE_ONLY
from tests.web.conftest import Browser

ADMIN = Actor("admin")


def approved_requests(service, clock) -> None:
    """Two approved purchase requests of ma.lan (department channel) and one still in
    approval, all made on 2026-12-07."""
    clock.set(2026, 12, 7, 10, 0)
    supplier = service.create_record(ADMIN, "purchase", "supplier", {"name": "杭州云栖包装"})
    product = service.create_record(
        ADMIN, "purchase", "product", {"sku": "DESK", "name": "办公桌", "price": "500.00"}
    )
    for day, qty, approve in (
        ("2026-12-20", 4, True),
        ("2026-12-21", 1, True),
        ("2026-12-22", 9, False),
    ):
        data = {
            "supplier": supplier.id,
            "needed_by": day,
            "lines": [{"product": product.id, "qty": qty}],
        }
        record = service.flows.submit(Actor("ma.lan"), "purchase", "purchase_request", data)
        if approve:
            inst = service.flows.instance_of(ADMIN, "purchase", "purchase_request", record.id)
            task = next(t.id for t in inst.tasks if t.status == "pending")
            service.flows.approve(Actor("he.jing"), task)


@BOTH_ENGINES
def test_runs_are_submitted_from_the_page_and_shown_with_their_progress(site, browser, clock):
    _app, service = site
    approved_requests(service, clock)
    browser.sign_in("admin")
    page = browser.get("/admin/batch-jobs").get_data(as_text=True)
    assert 'id="job-purchase-monthly_spend"' in page
    assert 'href="/admin/batch-jobs"' in page  # the admin navigation links here
    answer = browser.post(
        "/admin/batch-jobs/run",
        {"app": "purchase", "job": "monthly_spend", "period": "2026-12", "dry_run": "1"},
    )
    assert answer.status_code == 302
    dry_id = int(answer.headers["Location"].rsplit("/", 1)[1])
    queued = browser.get(f"/admin/batch-jobs/runs/{dry_id}")
    assert queued.headers["Refresh"] == "3"
    assert "排队中" in queued.get_data(as_text=True)
    assert len(service.jobs.run_due().finished) == 1
    done = browser.get(f"/admin/batch-jobs/runs/{dry_id}")
    assert "Refresh" not in done.headers
    text = done.get_data(as_text=True)
    assert '<td class="created">1</td>' in text
    assert '<dd class="col-sm-9" id="rows-read">2</dd>' in text
    assert service.query_records(ADMIN, "purchase", "monthly_spend").total == 0
    browser.post(
        "/admin/batch-jobs/run", {"app": "purchase", "job": "monthly_spend", "period": "2026-12"}
    )
    service.jobs.run_due()
    [spend] = service.query_records(ADMIN, "purchase", "monthly_spend").items
    assert spend.values["department"] == "channel"
    assert spend.values["month"] == "2026-12"
    assert spend.values["total"] == Decimal("2500.00")
    assert spend.values["requests"] == 2
    listing = browser.get("/admin/batch-jobs").get_data(as_text=True)
    assert f'id="run-{dry_id}"' in listing and f'id="run-{dry_id + 1}"' in listing


@SQLITE_ONLY
def test_a_bad_period_is_told_on_the_page_and_others_are_kept_out(site, browser):
    browser.sign_in("admin")
    browser.get("/admin/batch-jobs")
    answer = browser.post(
        "/admin/batch-jobs/run",
        {"app": "purchase", "job": "monthly_spend", "period": "2026-Q3"},
        follow_redirects=True,
    )
    text = answer.get_data(as_text=True)
    assert "不是有效的月份" in text and "2026-09" in text
    assert '<tr><td colspan="10" class="text-muted">' in text  # no run was made
    clerk = Browser(site[0].test_client())
    clerk.sign_in("ma.lan")
    assert clerk.get("/admin/batch-jobs").status_code == 404
