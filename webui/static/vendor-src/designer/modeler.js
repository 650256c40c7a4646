// Entry of the designer's BPMN bundle (esbuild, `make assets`): the bpmn-js Modeler with the
// Camunda 7 properties panel, exposed as window.CrmDesigner for webui/static/js/designer.js.
import BpmnModeler from "bpmn-js/lib/Modeler";
import {
  BpmnPropertiesPanelModule,
  BpmnPropertiesProviderModule,
  CamundaPlatformPropertiesProviderModule,
} from "bpmn-js-properties-panel";
import CamundaBehaviorsModule from "camunda-bpmn-js-behaviors/lib/camunda-platform";
import camundaModdle from "camunda-bpmn-moddle/resources/camunda.json";

window.CrmDesigner = {
  BpmnModeler,
  additionalModules: [
    BpmnPropertiesPanelModule,
    BpmnPropertiesProviderModule,
    CamundaPlatformPropertiesProviderModule,
    CamundaBehaviorsModule,
  ],
  moddleExtensions: { camunda: camundaModdle },
};
