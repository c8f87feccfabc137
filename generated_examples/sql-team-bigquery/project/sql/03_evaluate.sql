-- Metrics on the evaluation split (precision, recall, accuracy, f1_score, log_loss, roc_auc).
SELECT *
FROM ML.EVALUATE(MODEL `acme-analytics.churn_bqml.model`);
