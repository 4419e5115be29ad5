"""The connector's configuration: ``config.toml`` decoded into msgspec Structs.

Four layers, each overriding the one before it:

1. the defaults declared on the Structs below;
2. the TOML file given to :func:`load_config`;
3. environment variables ``MLC_<KEY>__<KEY>…``: ``MLC_`` then the key path with ``__`` between
   levels, matched case-insensitively (``MLC_SERVICE__HTTP_PORT=9090``,
   ``MLC_CONNECTIONS__EPICOR__MAIN__COMPANY=EPIC07``, ``MLC_FLOWS__GL_ACTUALS__ENABLED=false``; in
   connection and flow names ``_`` also matches ``-``). Only variables with a ``__`` are overrides,
   so ``MLC_VAULT_KEY``, ``MLC_SECRETS_DIR`` and ``MLC_CONFIG`` are not;
4. mounted secret files: every file in ``service.secrets_dir`` (or ``$MLC_SECRETS_DIR``, which
   wins) is named by a dotted key path (``connections.epicor.main.api_key``) and its content,
   trailing newlines stripped, replaces that key. Hidden entries (Kubernetes' ``..data``) are
   skipped. This is how a Kubernetes Secret volume maps onto the config without ``subPath``.

Text from layers 3 and 4 is decoded to the type of the field it lands on: string fields take it
verbatim, other fields read it as a TOML value (``9090``, ``0.5``, ``true``, ``["a", "b"]``).

Validation reports every problem at once, each naming the source (file, environment variable or
secret file) and the key path: ``config.toml: connections.anaplan.fpa.workspace: expected str, got
int``. msgspec stops at the first error, so the raw TOML is first walked against the Struct types
(:class:`_Validator`), then semantic checks run per section (:meth:`Section.problems`) and across
sections (flow → connection references); only a clean tree is decoded with msgspec.

Secrets (passwords, API keys, client secrets, private keys, refresh tokens) never belong in the
TOML file: they live in the vault under ``<kind>.<name>.<field>`` (``epicor.main.password``), which
is also their key path under ``connections``, so a mounted secret file or an environment variable
can supply one instead (see :meth:`Config.configured_secret`). Every such value is registered with
:func:`mlc.logs.register_secret` when the config loads.

Relative paths (``state_dir``, ``pid_file``, ``secrets_dir``, ``key_file``, ``certificate_file``)
are resolved against the directory of the config file, so ``mlc run --config /etc/mlc/config.toml``
means the same wherever it is started from.
"""

from __future__ import annotations

from mlc.config.loading import load_config as load_config
from mlc.config.schema import (
    ENV_PREFIX as ENV_PREFIX,
)
from mlc.config.schema import (
    SECRETS_DIR_ENV as SECRETS_DIR_ENV,
)
from mlc.config.schema import (
    AnaplanConnection as AnaplanConnection,
)
from mlc.config.schema import (
    Config as Config,
)
from mlc.config.schema import (
    ConfigError as ConfigError,
)
from mlc.config.schema import (
    Connection as Connection,
)
from mlc.config.schema import (
    Connections as Connections,
)
from mlc.config.schema import (
    EpicorConnection as EpicorConnection,
)
from mlc.config.schema import (
    FlowConfig as FlowConfig,
)
from mlc.config.schema import (
    NonNegativeInt as NonNegativeInt,
)
from mlc.config.schema import (
    NonNegativeSeconds as NonNegativeSeconds,
)
from mlc.config.schema import (
    OptionValue as OptionValue,
)
from mlc.config.schema import (
    Port as Port,
)
from mlc.config.schema import (
    PositiveInt as PositiveInt,
)
from mlc.config.schema import (
    ScheduleRule as ScheduleRule,
)
from mlc.config.schema import (
    Seconds as Seconds,
)
from mlc.config.schema import (
    Section as Section,
)
from mlc.config.schema import (
    ServiceConfig as ServiceConfig,
)
from mlc.config.schema import (
    SupervisorConfig as SupervisorConfig,
)
from mlc.config.schema import (
    VaultConfig as VaultConfig,
)
from mlc.config.schema import (
    WorkdayConnection as WorkdayConnection,
)
