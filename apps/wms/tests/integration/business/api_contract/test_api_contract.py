"""The WMS API against its own OpenAPI spec: Schemathesis generates requests for every
operation (authenticated) and runs all of its checks on the answers.

One test per operation (``test_operation_honours_its_schema[POST /api/v1/customers]``),
so xdist workers share the work, plus one stateful test that follows the links between
operations (``st run --phases stateful``): the phases and checks of ``st run --checks
all`` (examples, coverage, fuzzing, stateful). The spec is the one WMS serves, built
from the app at collection; a test checks that the live app serves the same.

Depth is examples per operation: ``$INTERLOCK_FUZZ_EXAMPLES`` (``interlock run
--fuzz-examples N``, or the ``fuzz`` suite's ``fuzz_examples``), else a quick 10 for the
everyday run. Each operation draws from a seed derived from the run's seed and its name,
as Schemathesis' command line does (``--interlock-seed N`` replays a run); Hypothesis's
example database lives in the run folder, so a failing example found once is tried first
when that folder is reused and never lands in the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis.database import (
    DirectoryBasedExampleDatabase,
    ExampleDatabase,
    InMemoryExampleDatabase,
)
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import derive_operation_seed
from tests.integration.business.api_contract.conftest import CALL_PASSED

from wms.api.app import create_app
from wms.settings import Settings

pytestmark = [pytest.mark.business, pytest.mark.fuzz]

CONFIG = Path(__file__).parents[2] / "schemathesis.toml"
#: examples per operation of the everyday run; the ``fuzz`` suite sets 50 or more
QUICK_EXAMPLES = 10
EXAMPLES = int(os.environ.get("INTERLOCK_FUZZ_EXAMPLES") or QUICK_EXAMPLES)
#: throwaway secrets: building the spec needs settings, never a key the stack uses
_SPEC_SETTINGS = {
    "jwt_secret": "spec-only-secret-0123456789abcdef0123456789abcdef",
    "encryption_key": "spec-only-key-fedcba9876543210fedcba9876543210",
}


class _RunDatabase(ExampleDatabase):
    """Hypothesis's example database, in the run folder once the run has one."""

    def __init__(self) -> None:
        super().__init__()
        self.target: ExampleDatabase = InMemoryExampleDatabase()

    def save(self, key: bytes, value: bytes) -> None:
        self.target.save(key, value)

    def fetch(self, key: bytes) -> Iterable[bytes]:
        return self.target.fetch(key)

    def delete(self, key: bytes, value: bytes) -> None:
        self.target.delete(key, value)


DATABASE = _RunDatabase()
SETTINGS = hypothesis.settings(
    max_examples=EXAMPLES,
    deadline=None,  # a loaded machine answers slowly; the checks judge the answers
    suppress_health_check=list(HealthCheck),
    database=DATABASE,
    # the run's seed makes a run reproducible; Hypothesis's own "ci" profile (loaded when
    # CI is set) derandomizes instead, which refuses an example database
    derandomize=False,
)


def _spec() -> dict[str, Any]:
    spec: dict[str, Any] = create_app(Settings(**_SPEC_SETTINGS)).openapi()  # type: ignore[arg-type]
    return spec


def _schema() -> Any:
    config = SchemathesisConfig.from_path(CONFIG)
    config.projects.default.checks.update(included_check_names=["all"])  # ``--checks all``
    return schemathesis.openapi.from_dict(_spec(), config=config)


SPEC = _spec()
SCHEMA = _schema()


@pytest.fixture(scope="module")
def auth(interlock_auth: Any) -> dict[str, str]:
    """The admin's bearer header: every operation is open to it."""
    return dict(interlock_auth("admin"))


@pytest.fixture(scope="module", autouse=True)
def _run_database(interlock_run_dir: Path) -> Iterator[None]:
    folder = interlock_run_dir / "schemathesis"
    folder.mkdir(parents=True, exist_ok=True)
    DATABASE.target = DirectoryBasedExampleDatabase(folder / "examples.db")
    yield
    DATABASE.target = InMemoryExampleDatabase()


def test_the_app_serves_the_spec_the_operations_come_from(stack: Any) -> None:
    served = httpx.get(f"{stack.app_url}/openapi.json", timeout=10)
    assert served.status_code == 200
    assert served.json() == SPEC


#: operation label -> how many answers of each status its examples got
ANSWERS: dict[str, Counter[int]] = {}
#: the login, which no token opens: its 401 answers generated credentials, which are wrong
NO_TOKEN = frozenset({"POST /api/v1/auth/token"})


@pytest.fixture
def operation(request: pytest.FixtureRequest, interlock_seed: int) -> Iterator[Counter[int]]:
    """The operation's examples seeded from the run's seed and its label, as ``st run
    --seed``; after them, a check that the admin's token reached it (an operation that
    answered nothing but 401 was never tested past its authentication: Schemathesis only
    warns of that)."""
    label = request.node.operation_label  # set by Schemathesis on each operation's test
    hypothesis.seed(derive_operation_seed(interlock_seed, label))(request.function)
    answers = ANSWERS.setdefault(label, Counter())
    yield answers
    if not request.node.stash.get(CALL_PASSED, False):
        return  # failed or interrupted: its own report says why, this check would not
    # 422 can come before authentication, and 405 answers the probes of other methods
    reached = set(answers) - {401, 405, 422}
    assert reached or label in NO_TOKEN, (
        f"{label}: no answer but 401, 405, 422 ({dict(answers)}): not authenticated"
    )


# the fuzz suite's 50 examples of one operation, with its coverage cases, take longer
# than INTEGRATION_TIMEOUT's minute on a loaded machine
@pytest.mark.integration_timeout(300_000)
@SCHEMA.parametrize()
@SETTINGS
def test_operation_honours_its_schema(
    case: Any, operation: Counter[int], stack: Any, auth: dict[str, str]
) -> None:
    response = case.call_and_validate(base_url=stack.app_url, headers=auth)
    operation[response.status_code] += 1


# the links between operations, followed in scenarios of several calls. Schemathesis'
# own runner drives them: its pytest state machine trips Hypothesis's
# FlakyStrategyDefinition at 50 examples, a scenario's steps depending on live answers
@pytest.mark.integration_timeout(300_000)
def test_linked_operations_honour_their_schemas(
    stack: Any, auth: dict[str, str], interlock_seed: int, interlock_run_dir: Path
) -> None:
    folder = interlock_run_dir / "schemathesis"
    folder.mkdir(parents=True, exist_ok=True)
    st = shutil.which("st") or str(Path(sys.executable).parent / "st")
    command = [
        st,
        "--config-file",
        str(CONFIG),
        "run",
        f"{stack.app_url}/openapi.json",
        "--phases",
        "stateful",
        "--checks",
        "all",
        "--max-examples",
        str(EXAMPLES),
        "--header",
        f"Authorization: {auth['Authorization']}",
        "--seed",
        str(interlock_seed),
        "--generation-database",
        str(folder / "stateful.db"),
        "--no-color",
        "--suppress-health-check",
        "all",
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=600, check=False, cwd=folder
    )
    (folder / "stateful.txt").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, (
        f"seed {interlock_seed}\n" + result.stdout[-6000:] + result.stderr[-2000:]
    )
