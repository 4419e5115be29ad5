"""The actor runtime: actors and refs, the supervisor, the signal bridge, the clock."""

from __future__ import annotations

from mlc.runtime.actor import Actor as Actor
from mlc.runtime.actor import ActorRef as ActorRef
from mlc.runtime.clock import Clock as Clock
from mlc.runtime.clock import ManualClock as ManualClock
from mlc.runtime.clock import SystemClock as SystemClock
from mlc.runtime.errors import ActorStopped as ActorStopped
from mlc.runtime.errors import SupervisorEscalation as SupervisorEscalation
from mlc.runtime.mailbox import MailboxStatistics as MailboxStatistics
from mlc.runtime.restart import RestartPolicy as RestartPolicy
from mlc.runtime.signals import SERVICE_SIGNALS as SERVICE_SIGNALS
from mlc.runtime.signals import SignalHandler as SignalHandler
from mlc.runtime.signals import run_signal_bridge as run_signal_bridge
from mlc.runtime.supervisor import Supervisor as Supervisor
