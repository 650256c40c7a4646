// Entry of the designer's DMN bundle (esbuild, `make assets`): the dmn-js Modeler (decision
// tables, literal expressions, DRD), exposed as window.CrmDecisions for webui/static/js/decisions.js.
import DmnModeler from "dmn-js/lib/Modeler";

window.CrmDecisions = { DmnModeler };
