//! Decision steps and skipped steps. A decision's handler names the branches to run
//! (`{"branches": [...]}`, among those its template declares); the branches it did not name
//! are skipped at once, with the deciding step named in their transitions, and a step whose
//! parents all end skipped is skipped in turn (progress::advance). A step with a skipped
//! and a completed parent runs (convergence), seeing only the results that exist.

use serde_json::{json, Value};
use sqlx::PgConnection;

use super::transitions::{move_steps, StepChange, StepMove};
use super::{OrchestrationError, TaskRef};
use crate::domain::states::StepState;

/// The branches a decision's results choose, or why they cannot be applied.
pub fn chosen_branches(step_name: &str, results: &Value, declared: &[String]) -> Result<Vec<String>, String> {
    let expected = "return TaskerCore::Decision.run(:branch, ...) or TaskerCore::Decision.none";
    let Some(names) = results.get("branches").and_then(Value::as_array) else {
        return Err(format!("decision step {step_name} returned no branches: {expected}"));
    };
    let mut chosen = Vec::with_capacity(names.len());
    for name in names {
        let Some(name) = name.as_str() else {
            return Err(format!("decision step {step_name} named a branch that is not a String: {expected}"));
        };
        if !declared.iter().any(|d| d == name) {
            let known = declared.join(", ");
            return Err(format!("decision step {step_name} chose unknown branch {name:?} (its branches: {known})"));
        }
        if !chosen.iter().any(|c: &String| c == name) {
            chosen.push(name.to_owned());
        }
    }
    Ok(chosen)
}

/// Skips the declared branches of decision `decided_by` that it did not choose. Returns the
/// ids skipped (pending branches only: a branch can have other parents still running).
pub async fn skip_unchosen(
    tx: &mut PgConnection,
    task: &TaskRef,
    decided_by: &str,
    declared: &[String],
    chosen: &[String],
) -> Result<Vec<i64>, OrchestrationError> {
    let unchosen: Vec<&String> = declared.iter().filter(|b| !chosen.contains(b)).collect();
    if unchosen.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM tasker_workflow_steps WHERE task_id = $1 AND name = ANY($2) ORDER BY id")
        .bind(task.id)
        .bind(&unchosen)
        .fetch_all(&mut *tx)
        .await?;
    skip(tx, task, &ids, "not_chosen", &json!({"decided_by": decided_by})).await
}

/// Moves pending steps to `skipped`; returns the ids moved.
pub async fn skip(tx: &mut PgConnection, task: &TaskRef, ids: &[i64], reason: &str, metadata: &Value) -> Result<Vec<i64>, OrchestrationError> {
    let mv = StepMove { from: StepState::Pending, to: StepState::Skipped, change: StepChange::None, reason, metadata };
    Ok(move_steps(tx, task.id, ids, mv).await?.into_iter().map(|s| s.id).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decision_chooses_among_its_declared_branches() {
        let declared = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(chosen_branches("route", &json!({"branches": ["b", "b"]}), &declared).unwrap(), vec!["b"]);
        assert_eq!(chosen_branches("route", &json!({"branches": []}), &declared).unwrap(), Vec::<String>::new());
        let unknown = chosen_branches("route", &json!({"branches": ["zz"]}), &declared).unwrap_err();
        assert_eq!(unknown, "decision step route chose unknown branch \"zz\" (its branches: a, b)");
        assert!(chosen_branches("route", &json!(42), &declared).unwrap_err().contains("returned no branches"));
    }
}
