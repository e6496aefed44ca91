"""The lab kubelet: the cluster is live, not a picture.

Why it exists: floe-agents reads a Floe platform through the Kubernetes API, and in the lab that API is a
stand-in. Without a kubelet the pods in it would be whatever someone wrote there; with it, every Deployment,
StatefulSet and Job is realised as the real local process it stands for (chosen by the pod template annotation
``lab.floe.dev/launch``), and Pods, ReplicaSets, Deployments, StatefulSets, Jobs, Endpoints and Events follow
what really happened — a missing Secret really keeps the process from starting, a crash really restarts it,
and creating the Secret through the API really starts it. It talks to the API server only through the real
``kubernetes_asyncio`` client, like a real kubelet and controller manager.

Use::

    async with Kubelet(api_url, token, state_dir, launchers):   # returns after the first sync
        ...
    # or: python -m floe_lab.kubelet --api URL --token T --state DIR --launchers MODULE:ATTR

Launchers (``Mapping[str, Launcher]``) turn a :class:`LaunchContext` into a ``procs.ProcSpec``; the value
``adopt:<procname>`` mirrors a process started elsewhere and recorded by ``procs`` under that name. A launcher
honours the container's ``command``/``args`` (:func:`requested_command`, ``$(VAR)`` already expanded) where its
image runs a real program, and raises :class:`ExecNotFoundError` for a program the image does not have (the pod
then fails with exit 127). The node always has the ``exec`` image (a container that runs its own command with
this machine's programs); init containers run on it unless ``lab.floe.dev/launch.<container>`` names another
launcher (:func:`launcher_for`). A container with no such annotation runs on the launcher of its image's repository,
``image:<repository>`` (any tag), when the table has one: manifests written for a real cluster name only images.

As a node does, the kubelet runs init containers in order before the app container, runs processes as the pod's
``securityContext`` says, fills termination messages, backs restarts off 10 s doubling to 300 s (lowerable), keeps
each container's log where the API server's ``pods/{name}/log`` reads it, rolls Deployments with
``maxSurge``/``maxUnavailable``, runs CronJobs (:mod:`~floe_lab.kubelet.cronjobs`), and gives every pod its
ServiceAccount's token, the cluster CA and ``KUBERNETES_SERVICE_HOST``/``PORT``
(:mod:`~floe_lab.kubelet.serviceaccount`). Not modelled: more than one app container per pod (the others are
reported waiting), ``readOnlyRootFilesystem``, memory limits (so no ``OOMKilled``).
"""

from floe_lab.kubelet.context import (
    ADOPT_PREFIX,
    EXEC_LAUNCHER,
    IMAGE_PREFIX,
    LAUNCH_ANNOTATION,
    LOG_FILE_ANNOTATION,
    NODE_NAME,
    PREVIOUS_LOG_ANNOTATION,
    REAL_PORTS_ANNOTATION,
    ExecNotFoundError,
    LaunchContext,
    Launcher,
    image_launcher,
    launcher_for,
    requested_command,
)
from floe_lab.kubelet.kubelet import Kubelet

__all__ = [
    "ADOPT_PREFIX",
    "EXEC_LAUNCHER",
    "IMAGE_PREFIX",
    "LAUNCH_ANNOTATION",
    "LOG_FILE_ANNOTATION",
    "NODE_NAME",
    "PREVIOUS_LOG_ANNOTATION",
    "REAL_PORTS_ANNOTATION",
    "ExecNotFoundError",
    "Kubelet",
    "LaunchContext",
    "Launcher",
    "image_launcher",
    "launcher_for",
    "requested_command",
]
