from tests.plan.helpers import isolated
from tests.runtime.conftest import deployment_name, isolated_env

__all__ = ["deployment_name", "isolated", "isolated_env"]
