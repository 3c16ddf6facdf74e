from litestar import Controller, get, patch, post
from litestar.di import Provide

from app.domain.programs.dependencies import provide_program_service
from app.domain.programs.schemas import ProgramCreate, ProgramOut, ProgramUpdate
from app.domain.programs.services import ProgramService
from app.domain.urls import PROGRAM, PROGRAMS
from app.lib.openapi import documented
from app.lib.pagination import Page
from app.lib.types import CursorQuery, LimitQuery, ObjectIdPath


class ProgramController(Controller):
    tags = ["Programs"]
    dependencies = {"programs": Provide(provide_program_service, sync_to_thread=False)}

    @post(
        PROGRAMS,
        operation_id="createProgram",
        summary="Create a gift-card program",
        **documented(post=True),
    )
    async def create(
        self, merchant_id: str, data: ProgramCreate, programs: ProgramService
    ) -> ProgramOut:
        return ProgramOut.from_program(await programs.create(merchant_id, data))

    @get(PROGRAM, operation_id="getProgram", summary="Get a program", **documented(404))
    async def get_one(
        self, merchant_id: str, programId: ObjectIdPath, programs: ProgramService
    ) -> ProgramOut:
        return ProgramOut.from_program(await programs.get(merchant_id, programId))

    @patch(
        PROGRAM,
        operation_id="updateProgram",
        summary="Change a program's settings (only the fields given)",
        **documented(404),
    )
    async def update(
        self,
        merchant_id: str,
        programId: ObjectIdPath,
        data: ProgramUpdate,
        programs: ProgramService,
    ) -> ProgramOut:
        return ProgramOut.from_program(await programs.update(merchant_id, programId, data))

    @get(
        PROGRAMS,
        operation_id="listPrograms",
        summary="List programs, newest first",
        **documented(),
    )
    async def list_all(
        self,
        merchant_id: str,
        programs: ProgramService,
        limit: LimitQuery = 100,
        cursor: CursorQuery = None,
    ) -> Page[ProgramOut]:
        found, nxt = await programs.page(merchant_id, limit, cursor)
        return Page[ProgramOut](data=[ProgramOut.from_program(p) for p in found], next_cursor=nxt)
