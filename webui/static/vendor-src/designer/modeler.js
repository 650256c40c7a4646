// Entry of the designer's BPMN bundle (esbuild, `make assets`): the bpmn-js Modeler with the
// Camunda 7 properties panel and its Chinese texts (bpmn-js-i18n-zh), exposed as
// window.CrmDesigner for webui/static/js/designer.js.
import BpmnModeler from "bpmn-js/lib/Modeler";
import {
  BpmnPropertiesPanelModule,
  BpmnPropertiesProviderModule,
  CamundaPlatformPropertiesProviderModule,
} from "bpmn-js-properties-panel";
import CamundaBehaviorsModule from "camunda-bpmn-js-behaviors/lib/camunda-platform";
import camundaModdle from "camunda-bpmn-moddle/resources/camunda.json";
import zhModeler from "bpmn-js-i18n-zh/lib/bpmn-js";
import zhCamunda from "bpmn-js-i18n-zh/lib/camunda-properties-panel";
import zhPanel from "bpmn-js-i18n-zh/lib/properties-panel";
import zhShared from "bpmn-js-i18n-zh/lib/zeebe-properties-panel"; // labels Camunda 7 shares (assignee, candidate groups, due date)

window.CrmDesigner = {
  BpmnModeler,
  additionalModules: [
    BpmnPropertiesPanelModule,
    BpmnPropertiesProviderModule,
    CamundaPlatformPropertiesProviderModule,
    CamundaBehaviorsModule,
  ],
  moddleExtensions: { camunda: camundaModdle },
  texts: { zh: { ...zhShared, ...zhModeler, ...zhPanel, ...zhCamunda } },
};
