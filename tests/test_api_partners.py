"""The partner registry (tokens, scopes, revocation, publication) and its commands."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from expedition.delivery.partners import (
    PartnerError,
    TokenRegistry,
    add_partner,
    issue_token,
    list_partners,
    parse_token,
    publish_surveys,
    revoke_partner,
    rotate_token,
    secret_sha256,
)
from expedition.errors import NotFound
from tests.conftest import invoke_cli


@pytest.fixture(scope="module")
def reg_lake(api_world: Any) -> Any:
    """The shared test lake (tests here use partner names of their own)."""
    return api_world.lake


def _listed(lake: Any, name: str) -> list[tuple[Any, int]]:
    return [(p, n) for p, n in list_partners(lake) if p.name == name]


def _registry(lake: Any) -> TokenRegistry:
    """The registry as the service builds it (both tables read on one connection)."""
    con = lake.connect(read_only=True)
    try:
        return TokenRegistry(con.execute("SELECT * FROM partners").to_arrow_table(),
                             con.execute("SELECT * FROM partner_tokens").to_arrow_table())
    finally:
        con.close()


def test_tokens_have_256_random_bits_and_only_a_digest_is_kept() -> None:
    token_id, token, digest = issue_token()
    parsed = parse_token(token)
    assert parsed is not None and parsed[0] == token_id
    assert len(parsed[1]) == 43  # 32 bytes, URL-safe base64 without padding
    assert digest == secret_sha256(parsed[1]) and parsed[1] not in digest
    assert issue_token()[1] != token


def test_add_authenticate_rotate_revoke(reg_lake: Any) -> None:
    lake = reg_lake
    issued = add_partner(lake, "csn-chile", countries=["chl", "PER"], embargo_days=14, note="CSN")
    assert issued.partner.countries == ("CHL", "PER")
    reg = _registry(lake)
    assert reg.authenticate(issued.token) == issued.partner
    assert reg.authenticate(issued.token[:-1] + ("A" if issued.token[-1] != "A" else "B")) is None
    rotated = rotate_token(lake, "csn-chile")
    reg = _registry(lake)
    assert reg.authenticate(issued.token) is None and reg.authenticate(rotated.token) is not None
    revoked = revoke_partner(lake, "csn-chile")
    assert revoked.revoked_utc is not None
    assert _registry(lake).authenticate(rotated.token) is None
    [(p, active)] = _listed(lake, "csn-chile")
    assert p.name == "csn-chile" and not p.active and active == 0


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"name": "Bad Name"}, "not valid"),
        ({"name": "ok", "countries": ["China"]}, "ISO 3166"),
        ({"name": "ok", "expedition_ids": ["exp 1"]}, "expedition id"),
        ({"name": "ok", "embargo_days": -1}, "embargo"),
    ],
)
def test_invalid_partners_are_refused(reg_lake: Any, kwargs: dict[str, Any], needle: str) -> None:
    with pytest.raises(PartnerError, match=needle):
        add_partner(reg_lake, **kwargs)
    assert _listed(reg_lake, kwargs["name"]) == []


def test_names_are_never_reused_and_unknown_partners_are_named(reg_lake: Any) -> None:
    lake = reg_lake
    add_partner(lake, "ineter", countries=["NIC"])
    with pytest.raises(PartnerError, match="already exists"):
        add_partner(lake, "ineter", countries=["HND"])
    revoke_partner(lake, "ineter")
    with pytest.raises(PartnerError, match="revoked"):
        add_partner(lake, "ineter")
    with pytest.raises(PartnerError, match="revoked"):
        rotate_token(lake, "ineter")
    with pytest.raises(PartnerError, match="no partner 'nobody'"):
        revoke_partner(lake, "nobody")


def test_publish_needs_an_existing_expedition(reg_lake: Any) -> None:
    with pytest.raises(NotFound, match="EXP-2030-XXX-001"):
        publish_surveys(reg_lake, "EXP-2030-XXX-001", by="Lead")
    with pytest.raises(PartnerError, match="--by"):
        publish_surveys(reg_lake, "EXP-2030-XXX-001", by=" ")


def test_cli_prints_the_token_once_and_stores_only_its_hash(reg_lake: Any) -> None:
    qe_home = reg_lake.home
    res = invoke_cli(["partners", "add", "cli-partner", "--countries", "NIC,HND", "--embargo-days", "21",
                      "--home", str(qe_home)])
    assert res.returncode == 0, res.stderr
    token = res.stdout.strip().splitlines()[-1]
    parsed = parse_token(token)
    assert parsed is not None
    secret = parsed[1].encode()
    for f in qe_home.rglob("*"):  # the secret is nowhere on disk
        if f.is_file():
            assert secret not in f.read_bytes(), f
    listed = invoke_cli(["partners", "list", "--json", "--home", str(qe_home)])
    [row] = [r for r in json.loads(listed.stdout) if r["partner_name"] == "cli-partner"]
    assert row["countries"] == ["HND", "NIC"] and row["embargo_days"] == 21 and row["active_tokens"] == 1
    assert token not in listed.stdout
    revoked = invoke_cli(["partners", "revoke", "cli-partner", "--home", str(qe_home)])
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    again = invoke_cli(["partners", "revoke", "cli-partner", "--home", str(qe_home)])
    assert again.returncode == 2 and re.match(r"^error: partner 'cli-partner' was revoked", again.stderr)
    assert "Traceback" not in again.stderr


def test_cli_publish_unknown_expedition_is_one_error_line(reg_lake: Any) -> None:
    res = invoke_cli(["publish", "EXP-2030-XXX-001", "--by", "Lead", "--home", str(reg_lake.home)])
    assert res.returncode == 2
    assert res.stderr.strip() == "error: no expedition 'EXP-2030-XXX-001' (see `expedition list`)"
