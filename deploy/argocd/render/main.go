// Command render renders the webhook bodies of an argocd-notifications-cm ConfigMap for every
// trigger, the way Argo CD's notifications controller does: text/template with sprig's
// TxtFuncMap (less env/expandenv), the unstructured Application as `.app`, the ConfigMap's
// `context` (plus notificationType) as `.context`.
//
// Usage: render -configmap argocd-notifications-cm.yaml -app application.json [-service NAME]
//
// It prints {"<trigger>": [{"template", "method", "path", "body"}, ...], ...} as JSON and exits
// non-zero on the first parse or render error. Argo CD's `repo`, `time`, `strings` and `sync`
// helpers are not provided: a template that needs them fails here.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"sigs.k8s.io/yaml"
)

type configMap struct {
	Data map[string]string `json:"data"`
}

type webhook struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Body   string `json:"body"`
}

type notificationTemplate struct {
	Webhook map[string]webhook `json:"webhook"`
}

type condition struct {
	When    string   `json:"when"`
	OncePer string   `json:"oncePer"`
	Send    []string `json:"send"`
}

type rendered struct {
	Template string `json:"template"`
	Method   string `json:"method"`
	Path     string `json:"path"`
	Body     string `json:"body"`
}

func main() {
	cmPath := flag.String("configmap", "", "argocd-notifications-cm YAML")
	appPath := flag.String("app", "", "Application JSON")
	service := flag.String("service", "command-center", "webhook service name")
	flag.Parse()
	out, err := run(*cmPath, *appPath, *service)
	if err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
}

func run(cmPath, appPath, service string) ([]byte, error) {
	var cm configMap
	if err := readYAML(cmPath, &cm); err != nil {
		return nil, err
	}
	vars, err := variables(cm, appPath, service)
	if err != nil {
		return nil, err
	}
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env") // as notifications-engine does
	delete(funcs, "expandenv")
	result := map[string][]rendered{}
	for _, key := range sortedKeys(cm.Data) {
		name, ok := strings.CutPrefix(key, "trigger.")
		if !ok {
			continue
		}
		var conditions []condition
		if err := yaml.Unmarshal([]byte(cm.Data[key]), &conditions); err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		for _, c := range conditions {
			for _, tmpl := range c.Send {
				r, err := renderTemplate(cm, tmpl, service, funcs, vars)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", key, err)
				}
				result[name] = append(result[name], r)
			}
		}
	}
	return json.MarshalIndent(result, "", "  ")
}

// variables builds what Argo CD passes to templates (util/notification/settings).
func variables(cm configMap, appPath, service string) (map[string]any, error) {
	raw, err := os.ReadFile(appPath)
	if err != nil {
		return nil, err
	}
	decoder := json.NewDecoder(bytes.NewReader(raw))
	decoder.UseNumber() // unstructured objects keep integers exact
	var app map[string]any
	if err := decoder.Decode(&app); err != nil {
		return nil, fmt.Errorf("%s: %w", appPath, err)
	}
	context := map[string]string{}
	if text, ok := cm.Data["context"]; ok {
		if err := yaml.Unmarshal([]byte(text), &context); err != nil {
			return nil, fmt.Errorf("context: %w", err)
		}
	}
	context["notificationType"] = service
	return map[string]any{
		"app":         app,
		"context":     context,
		"secrets":     map[string][]byte{},
		"serviceType": service,
	}, nil
}

func renderTemplate(
	cm configMap, name, service string, funcs template.FuncMap, vars map[string]any,
) (rendered, error) {
	text, ok := cm.Data["template."+name]
	if !ok {
		return rendered{}, fmt.Errorf("template %q is not defined", name)
	}
	var nt notificationTemplate
	if err := yaml.Unmarshal([]byte(text), &nt); err != nil {
		return rendered{}, fmt.Errorf("template %q: %w", name, err)
	}
	hook, ok := nt.Webhook[service]
	if !ok {
		return rendered{}, fmt.Errorf("template %q has no webhook.%s", name, service)
	}
	body, err := execute(name+service, hook.Body, funcs, vars)
	if err != nil {
		return rendered{}, fmt.Errorf("template %q body: %w", name, err)
	}
	path, err := execute(name+service, hook.Path, funcs, vars)
	if err != nil {
		return rendered{}, fmt.Errorf("template %q path: %w", name, err)
	}
	return rendered{Template: name, Method: hook.Method, Path: path, Body: body}, nil
}

func execute(name, text string, funcs template.FuncMap, vars map[string]any) (string, error) {
	tmpl, err := template.New(name).Funcs(funcs).Parse(text)
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, vars); err != nil {
		return "", err
	}
	return out.String(), nil
}

func readYAML(path string, into any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(raw, into); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
