"""The database handle: engine, read and write sessions, and the change stamp.

Every write goes through `Database.write()`, which bumps `registry_stamp.version` in the same
transaction; that is how other processes learn, with a one-row read, that something changed. On
PostgreSQL the same transaction also sends `NOTIFY registry_stamp`, which the server delivers to
every listening process exactly when (and only if) the change commits.

Bounds (README "Configuration"): a write waits at most `busy_timeout` seconds (default 30) for
a lock held by another writer, on both backends, then fails with `DatabaseBusyError`.
PostgreSQL connections give up connecting after `CONNECT_TIMEOUT` seconds and use TCP
keepalives, so a dead peer is noticed instead of waited on. A read-only SQLite file (or folder)
is opened read-only: reads work, writes are refused with a clear error.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import URL, Connection, Engine, create_engine, event, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.orm import Session, sessionmaker

from registry import config
from registry.errors import (
    ConfigurationError,
    DatabaseBusyError,
    DatabaseError,
    DatabaseUnavailableError,
)
from registry.schema import RegistryStamp, utcnow
from registry.text import inert

logger = logging.getLogger(__name__)

BUSY_TIMEOUT = 30.0  # seconds a write waits for another writer's lock, on both backends
CONNECT_TIMEOUT = 3  # seconds (PostgreSQL; libpq's minimum is 2)
# PostgreSQL connection parameters that make a silent peer fail instead of hang; a value given
# in the URL's query wins.
_PG_CONNECT_ARGS: dict[str, Any] = {
    "connect_timeout": CONNECT_TIMEOUT,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,  # ms: unacknowledged data for this long closes the connection
    "application_name": "model-registry",  # pg_stat_activity tells our connections apart
}
# Execution option: a statement timeout (seconds) for a PostgreSQL transaction's statements.
STATEMENT_TIMEOUT_OPTION = "registry_statement_timeout"
# PostgreSQL: the channel every catalog change is announced on (see registry.snapshot).
CHANGE_CHANNEL = "registry_stamp"
_URL_HELP = "e.g. sqlite:///path/to/registry.db or postgresql://user:password@host:5432/db"


def push_wanted() -> bool:
    """`REGISTRY_PUSH_NOTIFICATIONS`: on (the default) or off."""
    value = (config.setting("REGISTRY_PUSH_NOTIFICATIONS") or "on").strip().lower()
    if value in ("off", "false", "no", "0"):
        return False
    if value not in ("on", "true", "yes", "1"):
        logger.warning(
            "model registry: REGISTRY_PUSH_NOTIFICATIONS=%s is neither on nor off; using on",
            inert(value, 40),
        )
    return True


def parse_database_url(url: str) -> URL:
    """The SQLAlchemy URL for `url`; `postgres://` and `postgresql://` (the forms hosting
    platforms hand out) mean PostgreSQL through psycopg 3. Raises `ConfigurationError` (never
    showing the password) for anything else that is not a SQLite or PostgreSQL URL."""
    try:
        parsed = make_url(url.strip())
    except (ArgumentError, ValueError):
        raise ConfigurationError(
            f"REGISTRY_DATABASE_URL is not a database URL ({_URL_HELP})"
        ) from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend in ("postgres", "postgresql") and driver in ("", "psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and driver in ("", "pysqlite"):
        return parsed
    raise ConfigurationError(
        f"REGISTRY_DATABASE_URL names {parsed.drivername!r}, which the registry does not support; "
        f"use SQLite or PostgreSQL with psycopg 3 ({_URL_HELP})"
    )


class Database:
    """One database (SQLite file or PostgreSQL), with sessions that translate failures."""

    def __init__(self, url: str, *, busy_timeout: float = BUSY_TIMEOUT) -> None:
        parsed = parse_database_url(url)
        self.url = parsed.render_as_string(hide_password=False)
        self.dialect = parsed.get_backend_name()
        self.busy_timeout = busy_timeout
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        self.sqlite_path: Path | None = None
        # True behind a transaction-pooling proxy (configured with push off, or detected by the
        # snapshot keeper): psycopg then prepares no statements on the server.
        self.pooler = False
        if self.dialect == "sqlite":
            # A `file:` URI (`?uri=true`) is the caller's own choice of how to open the file.
            if parsed.database and parsed.database != ":memory:" and "uri" not in parsed.query:
                self.sqlite_path = Path(parsed.database)
                _create_private_file(self.sqlite_path)
            kwargs["connect_args"] = {"timeout": busy_timeout, "check_same_thread": False}
        else:
            kwargs["connect_args"] = _postgresql_connect_args(parsed)
            # Discovery runs one thread per provider (six for text) beside the dashboard.
            kwargs["pool_size"] = 10
        try:
            self.engine: Engine = create_engine(parsed, **kwargs)
        except (NoSuchModuleError, ImportError):
            raise ConfigurationError(
                "REGISTRY_DATABASE_URL names PostgreSQL, but psycopg 3 is not installed "
                "(install the registry's `postgres` extra)"
            ) from None
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine, self.sqlite_path)
        else:
            _configure_postgresql(self.engine, busy_timeout)
            # Server-side prepared statements collide behind a transaction-pooling proxy.
            self.pooler = not push_wanted()
            event.listen(self.engine, "checkout", self._on_checkout)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite takes its write lock up front so two writers queue instead of deadlocking,
        # and writers of this process queue on a lock first: SQLite's own busy handler retries
        # by sleeping (up to 100 ms a time), which made parallel discovery run serially slow.
        self._write_engine = (
            self.engine.execution_options(sqlite_begin="IMMEDIATE")
            if self.dialect == "sqlite"
            else self.engine
        )
        self._writer_lock = threading.RLock() if self.dialect == "sqlite" else None

    def _on_checkout(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if self.pooler:
            dbapi_connection.prepare_threshold = None

    def use_pooler(self) -> None:
        """A transaction-pooling proxy is in front: no server-side prepared statements from now
        on (connections already checked out keep theirs until returned)."""
        self.pooler = True

    @property
    def safe_url(self) -> str:
        """The URL with any password hidden, for messages."""
        return make_url(self.url).render_as_string(hide_password=True)

    @contextmanager
    def read(self) -> Iterator[Session]:
        session = self._sessions()
        try:
            yield session
        except SQLAlchemyError as exc:
            raise self._translate(exc) from None
        finally:
            session.close()

    @contextmanager
    def _writers(self) -> Iterator[None]:
        """This process's writers queue here (SQLite), as long as the busy timeout allows."""
        lock = self._writer_lock
        if lock is None:
            yield
            return
        if not lock.acquire(timeout=self.busy_timeout):
            raise _busy(self.busy_timeout)
        try:
            yield
        finally:
            lock.release()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction: commits (and bumps the change stamp) on success, rolls back on error."""
        with self._writers(), self._sessions(bind=self._write_engine) as session:
            try:
                # The stamp first: its row lock serializes catalog writers, so the version the
                # rows are marked with (`ai_models.change_version`, by trigger) is the one this
                # change commits as, and a reader's "rows newer than my snapshot" misses none.
                session.execute(
                    update(RegistryStamp)
                    .where(RegistryStamp.id == 1)
                    .values(version=RegistryStamp.version + 1, changed_at=utcnow())
                )
                yield session
                session.flush()
                if self.dialect == "postgresql":
                    session.execute(text(f"NOTIFY {CHANGE_CHANNEL}"))
                session.commit()
            except SQLAlchemyError as exc:
                session.rollback()
                raise self._translate(exc) from None
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def transaction(self, **options: Any) -> Iterator[Connection]:
        """A write transaction that is not a catalog change (discovery state, usage counts):
        no change stamp bump, so no process reloads its snapshot for it."""
        try:
            with self._writers(), self._write_engine.execution_options(**options).begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise self._translate(exc) from None

    def stamp(self) -> int:
        """The current change stamp (raises DatabaseError when unreachable)."""
        with self.read() as session:
            return int(
                session.scalar(select(RegistryStamp.version).where(RegistryStamp.id == 1)) or 0
            )

    def dispose(self) -> None:
        self.engine.dispose()

    def _translate(self, exc: SQLAlchemyError) -> DatabaseError:
        """One clear line instead of a driver traceback (statement parameters left out)."""
        original = getattr(exc, "orig", None)
        detail = str(original if original is not None else exc).strip().splitlines()[0]
        if isinstance(exc, IntegrityError):
            return DatabaseError(f"the database refused the change: {detail}")
        if getattr(original, "sqlstate", None) == "55P03" or "database is locked" in detail:
            return _busy(self.busy_timeout)
        if "readonly database" in detail:
            return DatabaseError(
                f"the database {self.safe_url} is read-only here: reading works, changes are "
                f"refused (make the file and its folder writable to change it)"
            )
        if isinstance(exc, OperationalError) or (
            isinstance(exc, DBAPIError) and exc.connection_invalidated
        ):
            return DatabaseUnavailableError(f"the database is unavailable or busy: {detail}")
        return DatabaseError(f"database error: {detail}")


def dialect_insert(bind: Connection | Session) -> Any:
    """The backend's INSERT with ON CONFLICT support (PostgreSQL and SQLite spell it alike)."""
    name = bind.get_bind().dialect.name if isinstance(bind, Session) else bind.dialect.name
    return postgresql.insert if name == "postgresql" else sqlite.insert


def _postgresql_connect_args(parsed: URL) -> dict[str, Any]:
    args = {name: value for name, value in _PG_CONNECT_ARGS.items() if name not in parsed.query}
    try:
        import psycopg
    except ImportError:
        return args  # create_engine says what is missing
    if psycopg.pq.version() < 120000:  # libpq learnt tcp_user_timeout in version 12
        args.pop("tcp_user_timeout", None)
    return args


def _busy(seconds: float) -> DatabaseBusyError:
    return DatabaseBusyError(
        f"the database is busy: another change held a lock for more than {seconds:g} s; try again"
    )


def _create_private_file(path: Path) -> None:
    """Create the SQLite file owner-only (0600) before SQLite does: its -wal and -shm files
    take the database file's permissions, so they are private too."""
    config.ensure_data_dir(path.parent, setting_name="REGISTRY_DATA_DIR or REGISTRY_DATABASE_URL")
    with contextlib.suppress(FileExistsError, PermissionError):
        # PermissionError: a read-only folder holds a database someone else made (or none:
        # then SQLite's own "unable to open" says so on first use).
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _read_only_folder(path: Path) -> bool:
    """True when SQLite could not create the -shm file a WAL database needs to be read."""
    shm = path.with_name(path.name + "-shm")
    return not os.access(path.parent, os.W_OK) and not shm.exists()


def _configure_sqlite(engine: Engine, path: Path | None) -> None:
    @event.listens_for(engine, "do_connect")
    def _on_do_connect(_dialect: Any, _record: Any, cargs: list[Any], cparams: Any) -> None:
        # In a folder nobody can write, no one can change the file either (a WAL writer needs
        # to create -wal and -shm): read it as immutable, the only way SQLite reads it there.
        if path is not None and path.exists() and _read_only_folder(path):
            cargs[:] = [f"file:{quote(str(path))}?mode=ro&immutable=1"]
            cparams["uri"] = True

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if path is None or (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
            # A read-only file keeps the journal mode it has: changing it is a write.
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def _configure_postgresql(engine: Engine, busy_timeout: float) -> None:
    lock_ms = str(max(int(busy_timeout * 1000), 1))

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Per transaction (SET LOCAL), so it also holds behind a transaction-mode pooler.
        statement_timeout = connection.get_execution_options().get(STATEMENT_TIMEOUT_OPTION)
        if statement_timeout:
            connection.exec_driver_sql(
                "SELECT set_config('lock_timeout', %(lock)s, true), "
                "set_config('statement_timeout', %(statement)s, true)",
                {"lock": lock_ms, "statement": str(int(statement_timeout * 1000))},
            )
        else:
            connection.exec_driver_sql(
                "SELECT set_config('lock_timeout', %(lock)s, true)", {"lock": lock_ms}
            )


def get_database() -> Database:
    """The default registry's database (REGISTRY_DATABASE_URL; embedded SQLite by default):
    the one the module-level data and admin functions work on."""
    from registry.client import default_registry  # the client is built on this module

    return default_registry().database


def set_database(database: Database | None) -> None:
    """Point the process at another database (tests, tools): a new default `Registry` on it,
    the previous one closed; None re-reads the configuration on next use."""
    from registry.client import Registry, set_default_registry

    previous = set_default_registry(None if database is None else Registry(database=database))
    if previous is not None:
        previous.close()
