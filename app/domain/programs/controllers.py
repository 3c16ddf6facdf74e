from litestar import Controller, Request, get, post
from litestar.datastructures import State

from app.domain.programs import services
from app.domain.programs.schemas import ProgramCreate, ProgramOut
from app.lib.pagination import Page
from app.lib.types import CursorQuery, LimitQuery, ObjectIdPath
from app.urls import PROGRAM, PROGRAMS


class ProgramController(Controller):
    tags = ["Programs"]

    @post(PROGRAMS, operation_id="createProgram", summary="Create a gift-card program")
    async def create(self, request: Request, data: ProgramCreate, state: State) -> ProgramOut:
        program = await services.create_program(request.user.merchant_id, data, state.settings)
        return ProgramOut.of(program)

    @get(PROGRAM, operation_id="getProgram", summary="Get a program")
    async def get_one(self, request: Request, programId: ObjectIdPath) -> ProgramOut:
        return ProgramOut.of(await services.get_program(request.user.merchant_id, programId))

    @get(PROGRAMS, operation_id="listPrograms", summary="List programs, newest first")
    async def list_all(
        self, request: Request, limit: LimitQuery = 100, cursor: CursorQuery = None
    ) -> Page[ProgramOut]:
        programs, nxt = await services.list_programs(request.user.merchant_id, limit, cursor)
        return Page[ProgramOut](data=[ProgramOut.of(p) for p in programs], nextCursor=nxt)
