"""WTForms definitions: each user task's form is defined once, used by the web pages and the API."""
from .accident import (
    AccidentCloseForm,
    AccidentConcludeForm,
    AccidentEnterpriseReportForm,
    AccidentExtensionForm,
    AccidentInvestigateForm,
    AccidentInvestigationReportForm,
    AccidentReportForm,
    AccidentResponseForm,
    AccidentUpwardReportForm,
)
from .certificate import CertificateApplyForm, CertificateRegisterForm, CertificateReviewForm
from .data_review import DataBatchForm, DataCorrectForm, DataReviewForm
from .inspection import ChecklistForm, InspectionPlanForm, InspectionStartForm
from .penalty import (
    PenaltyApproveForm,
    PenaltyExecuteForm,
    PenaltyFileForm,
    PenaltyInvestigateForm,
    PenaltyProposeForm,
    PenaltyServeForm,
)
from .penalty_procedure import FORMS as PENALTY_PROCEDURE_FORMS
from .rectification import (
    RectificationEscalateForm,
    RectificationExtensionForm,
    RectificationIssueForm,
    RectificationRespondForm,
    RectificationVerifyForm,
)
from .warning import WarningAcknowledgeForm, WarningConfirmForm, WarningDisposeForm

# camunda:formKey in a BPMN model → the form class.
FORMS = {
    "rectification_issue": RectificationIssueForm,
    "rectification_respond": RectificationRespondForm,
    "rectification_verify": RectificationVerifyForm,
    "rectification_escalate": RectificationEscalateForm,
    "rectification_extension": RectificationExtensionForm,
    "inspection_plan": InspectionPlanForm,
    "inspection_start": InspectionStartForm,
    "inspection_checklist": ChecklistForm,
    "penalty_file": PenaltyFileForm,
    "penalty_investigate": PenaltyInvestigateForm,
    "penalty_propose": PenaltyProposeForm,
    "penalty_approve": PenaltyApproveForm,
    "penalty_serve": PenaltyServeForm,
    "penalty_execute": PenaltyExecuteForm,
    "accident_report": AccidentReportForm,
    "accident_response": AccidentResponseForm,
    "accident_investigate": AccidentInvestigateForm,
    "accident_conclude": AccidentConcludeForm,
    "accident_enterprise_report": AccidentEnterpriseReportForm,
    "accident_upward_report": AccidentUpwardReportForm,
    "accident_investigation_report": AccidentInvestigationReportForm,
    "accident_extension": AccidentExtensionForm,
    "accident_close": AccidentCloseForm,
    "certificate_register": CertificateRegisterForm,
    "certificate_apply": CertificateApplyForm,
    "certificate_review": CertificateReviewForm,
    "data_batch": DataBatchForm,
    "data_review": DataReviewForm,
    "data_correct": DataCorrectForm,
    "warning_acknowledge": WarningAcknowledgeForm,
    "warning_dispose": WarningDisposeForm,
    "warning_confirm": WarningConfirmForm,
}
FORMS.update(PENALTY_PROCEDURE_FORMS)
