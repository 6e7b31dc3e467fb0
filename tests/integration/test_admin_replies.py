"""/admin/replies as a support lead uses it: add a canned reply, see it listed, be told why one
cannot be saved (with what was typed kept), rename and change it, preview it, delete it; and
the same routes in JSON with the Bearer token."""

from __future__ import annotations

import html

from tests.app_client import AppClient
from tests.integration.test_admin_access import BEARER, admin, csrf_of, sign_in  # noqa: F401

REFUND = "Hi {first_name}, refunds reach your card within **5 working days**. — {agent}"


async def post(client: AppClient, path: str, **fields: str) -> tuple[int, str, str]:
    """A form from the page, with its CSRF value: (status, page, where it redirects or "")."""
    response = await client.post(
        path, data={"csrf": await csrf_of(client, "/admin/replies"), **fields}, allow_redirects=False
    )
    return response.status, await response.text(), response.headers.get("Location", "")


async def test_a_lead_adds_changes_and_deletes_a_canned_reply(admin: AppClient) -> None:
    await sign_in(admin)
    empty = await (await admin.get("/admin/replies")).text()
    assert "No canned replies yet" in empty
    assert '<a href="/admin/replies" aria-current="page">Canned replies</a>' in empty

    status, _, location = await post(admin, "/admin/replies", name="refund-policy", body=REFUND)
    assert (status, location) == (303, "/admin/replies?saved=refund-policy")
    listed = await (await admin.get(location)).text()
    assert "<code>!reply refund-policy</code> sends it to the customer" in listed
    assert '<a href="/admin/replies/refund-policy">refund-policy</a>' in listed
    assert html.escape(REFUND, quote=False) in listed and "by admin token" in listed

    edit = await (await admin.get("/admin/replies/refund-policy")).text()
    assert "Hi Ada, refunds reach your card within <strong>5 working days</strong>. — Sam" in edit  # the preview
    status, _, location = await post(
        admin, "/admin/replies/refund-policy", name="refunds", body="Refunds take 3 days, {name}."
    )
    assert (status, location) == (303, "/admin/replies?saved=refunds")
    assert (await admin.get("/admin/replies/refund-policy")).status == 404
    assert "Refunds take 3 days, {name}." in await (await admin.get("/admin/replies/refunds")).text()

    status, _, location = await post(admin, "/admin/replies/refunds/delete")
    assert (status, location) == (303, "/admin/replies?deleted=refunds")
    assert "No canned replies yet" in await (await admin.get(location)).text()


async def test_a_reply_that_cannot_be_saved_gets_the_page_again_with_the_reason_and_the_text_kept(
    admin: AppClient,
) -> None:
    await sign_in(admin)
    assert (await post(admin, "/admin/replies", name="apology", body="Sorry!"))[0] == 303
    cases = [
        (
            {"name": "Refund policy!", "body": "Typed with care"},
            400,
            "a canned reply&#39;s name is 1 to 40 lower-case letters",
        ),
        ({"name": "refunds", "body": "   "}, 400, "the reply is empty"),
        ({"name": "refunds", "body": "Hi {nmae}"}, 400, "unknown placeholder {nmae}; the placeholders are {name}"),
        ({"name": "apology", "body": "Typed with care"}, 409, "a canned reply named &#39;apology&#39; exists already"),
    ]
    for fields, status, reason in cases:
        got, page, _ = await post(admin, "/admin/replies", **fields)
        assert got == status, fields
        assert 'id="problem">Not saved: ' in page and reason in page
        assert f'value="{html.escape(fields["name"])}"' in page and f">{html.escape(fields['body'])}</textarea>" in page
    got, page, _ = await post(admin, "/admin/replies", name="refunds", body="Refunds take 3 days.")
    assert got == 303
    got, page, _ = await post(admin, "/admin/replies/refunds", name="apology", body="Renamed onto another")
    assert got == 409 and "exists already" in page and "Renamed onto another</textarea>" in page
    listed = await (await admin.get("/admin/api/replies", headers=BEARER)).json()
    assert [(r["name"], r["body"]) for r in listed] == [("apology", "Sorry!"), ("refunds", "Refunds take 3 days.")]


async def test_scripts_manage_replies_with_the_bearer_token(admin: AppClient) -> None:
    created = await admin.post("/admin/replies", data={"name": "hello", "body": "Hello {name}"}, headers=BEARER)
    assert created.status == 200
    assert (await created.json())["name"] == "hello"
    taken = await admin.post("/admin/replies", data={"name": "hello", "body": "Again"}, headers=BEARER)
    assert (taken.status, await taken.text()) == (
        409,
        "a canned reply named 'hello' exists already: edit it, or choose another name\n",
    )
    changed = await admin.post("/admin/replies/hello", data={"name": "hello", "body": "Hi {name}"}, headers=BEARER)
    assert (await changed.json())["body"] == "Hi {name}"
    deleted = await admin.post("/admin/replies/hello/delete", headers=BEARER)
    assert await deleted.json() == {"deleted": "hello"}
    assert await (await admin.get("/admin/api/replies", headers=BEARER)).json() == []
