"""The model server of the serving container, on Vertex AI's custom-container contract."""
