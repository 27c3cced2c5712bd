"""An aiosmtpd handler for tests: a maildir, like aiosmtpd.handlers.Mailbox,
that waits `delay` seconds before accepting each message (a slow mail server,
so that send times are long enough to compare).

    python3 -m aiosmtpd -n -l 127.0.0.1:PORT -c slow_mailbox.SlowMailbox DIR DELAY
(with this directory on PYTHONPATH)."""

import asyncio

from aiosmtpd.handlers import Mailbox


class SlowMailbox(Mailbox):
    def __init__(self, mail_dir, delay):
        super().__init__(mail_dir)
        self.delay = float(delay)

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 2:
            parser.error("SlowMailbox needs a maildir and a delay in seconds")
        return cls(args[0], args[1])
