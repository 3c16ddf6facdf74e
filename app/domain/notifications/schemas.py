from app.lib.schema import ApiResponse


class NotificationsRequeued(ApiResponse):
    """How many failed notifications of the batch are pending again, due now."""

    requeued: int
