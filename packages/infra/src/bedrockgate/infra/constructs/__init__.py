"""Components more than one stack builds from: pieces of a stack, named for their job.

Each takes the stack as its scope and creates its resources there under fixed ids, so moving a
stack's resources into a component keeps their logical IDs (and every deployed resource) as they were.
"""

from bedrockgate.infra.constructs.web_service import (
    FargateWebService,
    WebServiceSpec,
    arm64_task_definition,
    attach_to_target_group,
    container_image,
    service_log_group,
)

__all__ = [
    "FargateWebService",
    "WebServiceSpec",
    "arm64_task_definition",
    "attach_to_target_group",
    "container_image",
    "service_log_group",
]
