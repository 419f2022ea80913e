"""AppError survives nameko's exception serialisation with its types intact."""
from nameko.exceptions import deserialize, serialize

from pupns.errors import STATUS_BY_CODE, AppError


def test_app_error_round_trips_through_nameko_serialisation():
    error = AppError("version_conflict", extra={"version": 7})
    again = deserialize(serialize(error))
    assert isinstance(again, AppError)
    assert again.code == "version_conflict" and again.extra == {"version": 7}
    assert again.fields is None and again.status == 409
    assert again.envelope() == {"error": {"code": "version_conflict", "message": error.message}, "version": 7}


def test_fields_stay_lists_of_reasons():
    error = deserialize(serialize(AppError("validation_error", fields={"nip": ["wajib diisi"]})))
    assert error.envelope()["error"]["fields"] == {"nip": ["wajib diisi"]}
    assert error.status == 422


def test_every_code_has_a_status_and_unknown_codes_are_400():
    assert all(400 <= status < 600 for status in STATUS_BY_CODE.values())
    assert AppError("something_new").status == 400
