package daemon

import (
	"fmt"

	"github.com/wasmrpcd/wasmrpcd/abi"
	"github.com/wasmrpcd/wasmrpcd/host/config"
)

// checkTarget checks a guest's call or cast before it is sent: the names
// of its target and its method, then where it goes (exchange, and the
// routing key or fanout exchange) against the tenant's rpc_targets.
// exchange is the effective exchange. A refusal is the exception the
// guest gets: ValueError for a name no target may have, PermissionError
// for a target the tenant may not reach.
func checkTarget(tenant *config.Tenant, exchange string, req *abi.CallRequest) error {
	t := req.Target
	if err := config.CheckGuestTarget(t.Exchange, t.Topic, t.Server, t.Namespace, t.Fanout); err != nil {
		return &abi.Error{Class: "ValueError", Module: "builtins", Message: "invalid RPC target: " + err.Error()}
	}
	if err := checkMethod(req.Method); err != nil {
		return err
	}
	if tenant.AllowsRPC(exchange, t.Topic, t.Server, t.Fanout) {
		return nil
	}
	where := "routing key " + config.RoutingKey(t.Topic, t.Server)
	if t.Fanout {
		where = "fanout exchange " + t.Topic + "_fanout"
	}
	return &abi.Error{Class: "PermissionError", Module: "builtins",
		Message: fmt.Sprintf("tenant %s may not reach RPC target %s (exchange %s, server %q, %s): its rpc_targets do not grant it",
			tenant.Name, t.Topic, exchange, t.Server, where)}
}

// checkMethod refuses a method name no endpoint can have: empty, longer
// than a name may be, or with white space or control characters.
func checkMethod(method string) error {
	if method == "" {
		return &abi.Error{Class: "ValueError", Module: "builtins", Message: "a call needs a target topic and a method"}
	}
	if err := config.CheckText("method", method); err != nil {
		return &abi.Error{Class: "ValueError", Module: "builtins", Message: "invalid method name: " + err.Error()}
	}
	return nil
}
