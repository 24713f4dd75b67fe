"""Containment commands of the incident runbook: lock an account, revoke API tokens, from a shell."""
from click.testing import CliRunner
from conftest import Browser

from web.cli import main
from web.demo.seed import DEMO_PASSWORD


def cli(url, *args):
    return CliRunner().invoke(main, list(args), env={"DATABASE_URL": url}, catch_exceptions=False)


def test_locking_an_account_ends_its_sessions_and_tokens(app, api, database_url):
    inspector = api("keqiao_inspector")
    page = Browser(app, "keqiao_inspector", DEMO_PASSWORD)
    assert inspector.get("/tasks").status_code == 200 and page.client.get("/").status_code == 200

    out = cli(database_url, "user", "lock", "keqiao_inspector")
    assert out.exit_code == 0, out.output
    assert inspector.get("/tasks").status_code == 401
    assert page.client.get("/").status_code == 302  # back to the sign-in page
    assert api("keqiao_supervisor").get("/tasks").status_code == 200  # nobody else

    assert cli(database_url, "user", "unlock", "keqiao_inspector").exit_code == 0
    assert inspector.get("/tasks").status_code == 200
    assert cli(database_url, "user", "lock", "nobody").exit_code != 0


def test_revoking_tokens_of_one_user_or_of_everyone(app, api, database_url):
    inspector, supervisor = api("keqiao_inspector"), api("keqiao_supervisor")
    out = cli(database_url, "token", "revoke", "keqiao_inspector")
    assert out.exit_code == 0 and "revoked 1 tokens" in out.output
    assert inspector.get("/tasks").status_code == 401 and supervisor.get("/tasks").status_code == 200

    out = cli(database_url, "token", "revoke", "--all")
    assert out.exit_code == 0 and "revoked 1 tokens" in out.output
    assert supervisor.get("/tasks").status_code == 401
    assert cli(database_url, "token", "revoke").exit_code != 0
