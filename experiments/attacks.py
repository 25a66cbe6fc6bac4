"""Our own targeted L-infinity attacks (batched), in the spirit of TorchAttacks.

Every attack takes a model in eval mode, images x in [0,1] (N,3,H,W) and
target labels t, and returns adversarial images in [0,1] within eps of x.
Targeted: each step *decreases* the cross-entropy towards t.

- fgsm:  one signed-gradient step of size eps (Goodfellow et al.).
- rfgsm: a random signed step of size alpha, then iterative signed-gradient
         steps with the remaining budget (Tramer et al.; TorchAttacks' RFGSM).
- pgd:   uniform random start in the eps ball, fixed-size signed steps,
         projection (Madry et al.).
- apgd:  APGD-CE-style (Croce & Hein): momentum 0.75, step size starting at
         2*eps, halved at checkpoints when progress stalls, restart from the
         best point seen.
"""
import torch
import torch.nn.functional as F


def _grad(model, x, t):
    x = x.clone().detach().requires_grad_(True)
    loss = F.cross_entropy(model(x), t, reduction="none")
    g, = torch.autograd.grad(loss.sum(), x)
    return loss.detach(), g.detach()


def _project(xa, x, eps):
    return torch.min(torch.max(xa, x - eps), x + eps).clamp(0, 1)


def fgsm(model, x, t, eps=0.15, **_):
    _, g = _grad(model, x, t)
    return _project(x - eps * g.sign(), x, eps).detach()


def rfgsm(model, x, t, eps=0.12, alpha=0.03, steps=10, gen=None, **_):
    xa = x + alpha * torch.randn(x.shape, generator=gen).sign()
    xa = _project(xa, x, eps)
    step = (eps - alpha) / steps * 2
    for _ in range(steps):
        _, g = _grad(model, xa, t)
        xa = _project(xa - step * g.sign(), x, eps)
    return xa.detach()


def pgd(model, x, t, eps=0.1, alpha=0.015, steps=20, gen=None, **_):
    xa = _project(x + (torch.rand(x.shape, generator=gen) * 2 - 1) * eps, x, eps)
    for _ in range(steps):
        _, g = _grad(model, xa, t)
        xa = _project(xa - alpha * g.sign(), x, eps)
    return xa.detach()


def apgd(model, x, t, eps=0.08, steps=30, rho=0.75, gen=None, **_):
    n = x.shape[0]
    view = (n,) + (1,) * (x.dim() - 1)
    # Checkpoints p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06), as in APGD.
    p = [0.0, 0.22]
    while p[-1] < 1:
        p.append(p[-1] + max(p[-1] - p[-2] - 0.03, 0.06))
    checks = sorted({int(round(q * steps)) for q in p[1:] if q < 1})
    eta = torch.full(view, 2.0 * eps)
    x0 = x
    loss0, g = _grad(model, x0, t)
    x1 = _project(x0 - eta * g.sign(), x, eps)
    best_x, best_loss = x0.clone(), loss0.clone()
    loss1, g1 = _grad(model, x1, t)
    better = loss1 < best_loss
    best_x[better], best_loss[better] = x1[better], loss1[better]
    improved = better.float()
    last_check, loss_at_check = 0, best_loss.clone()
    eta_at_check = eta.clone()
    prev, cur, g = x0, x1, g1
    for k in range(1, steps):
        z = _project(cur - eta * g.sign(), x, eps)
        nxt = _project(cur + 0.75 * (z - cur) + 0.25 * (cur - prev), x, eps)
        loss, gn = _grad(model, nxt, t)
        better = loss < best_loss
        improved += better.float()
        best_x[better], best_loss[better] = nxt[better], loss[better]
        prev, cur, g = cur, nxt, gn
        if k in checks:
            span = k - last_check
            cond1 = improved < rho * span
            cond2 = (eta.view(-1) == eta_at_check.view(-1)) & (loss_at_check == best_loss)
            halve = (cond1 | cond2).view(view)
            eta_at_check = eta.clone()
            eta = torch.where(halve, eta / 2, eta)
            # restart the halved ones from their best point
            h = halve.view(-1)
            cur = cur.clone()
            cur[h] = best_x[h]
            prev = prev.clone()
            prev[h] = best_x[h]
            if h.any():
                _, gb = _grad(model, best_x[h], t[h])
                g = g.clone()
                g[h] = gb
            improved.zero_()
            last_check, loss_at_check = k, best_loss.clone()
    return best_x.detach()


ATTACKS = {"fgsm": fgsm, "rfgsm": rfgsm, "pgd": pgd, "apgd": apgd}
