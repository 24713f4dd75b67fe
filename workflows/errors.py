"""Engine errors; the web layer maps each to an HTTP status."""


class EngineError(Exception):
    code = "engine_error"

    def __init__(self, message: str, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class NotFound(EngineError):
    code = "not_found"


class Forbidden(EngineError):
    code = "forbidden"


class Conflict(EngineError):
    code = "conflict"


class InvalidInput(EngineError):
    code = "invalid"


class InvalidModel(EngineError):
    """A BPMN file that cannot be deployed; ``reasons`` lists every problem found."""

    code = "invalid_model"

    def __init__(self, reasons: list[str]):
        super().__init__("; ".join(reasons), {"file": reasons})
        self.reasons = reasons


class ModelRuntimeError(EngineError):
    """A deployed model failed while running (bad condition, script error)."""

    code = "model_error"
