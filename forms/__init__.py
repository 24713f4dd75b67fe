"""WTForms definitions: each user task's form is defined once, used by the web pages and the API."""
from .rectification import (
    RectificationEscalateForm,
    RectificationIssueForm,
    RectificationRespondForm,
    RectificationVerifyForm,
)

# camunda:formKey in a BPMN model → the form class.
FORMS = {
    "rectification_issue": RectificationIssueForm,
    "rectification_respond": RectificationRespondForm,
    "rectification_verify": RectificationVerifyForm,
    "rectification_escalate": RectificationEscalateForm,
}
