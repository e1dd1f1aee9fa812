from tests.plan.helpers import isolated

__all__ = ["isolated"]
