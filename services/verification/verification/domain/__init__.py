"""verification's domain: the Registration and Submission aggregates, their events, the review's pure rules."""
from verification.domain.registration import Registration, registration_stream
from verification.domain.review import changes_from_roster, referenced_documents
from verification.domain.submission import Submission, submission_stream

__all__ = ["Registration", "Submission", "changes_from_roster", "referenced_documents", "registration_stream",
           "submission_stream"]
